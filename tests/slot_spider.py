"""A spider that fetches ``-a urls=URL,URL,...`` and does nothing else (tests/test_downloader.py).

Run with ``scrapy runspider`` from the checkout, so the project's settings (its
``DOWNLOADER``) apply.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import scrapy
from scrapy.http import Response


class SlotSpider(scrapy.Spider):
    name = "slot_probe"

    def __init__(self, urls: str = "", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.urls = [url for url in urls.split(",") if url]

    async def start(self) -> AsyncIterator[scrapy.Request]:
        for url in self.urls:
            yield scrapy.Request(url, callback=self.parse)

    def parse(self, response: Response) -> None:
        return None
