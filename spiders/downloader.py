"""Scrapy's downloader with per-site politeness that holds (setting ``DOWNLOADER``).

Two changes to ``scrapy.core.downloader.Downloader`` (Scrapy 2.19), both about what
``CONCURRENT_REQUESTS_PER_DOMAIN`` promises, "at most N requests at a time per site":

* **One download slot per site**, :func:`vendornews.discover.site_key` (host without
  ``www.``, and a non-default port), where Scrapy keys slots on the host name alone. Vendor
  sites on the web are separate hosts, so this changes nothing there, except that
  ``www.x.com`` and ``x.com`` (one server) now share their slot; sites served from one host
  on several ports (the dev farm's ``serve.py --site-ports``, all on 127.0.0.1) no longer
  share one slot of 2 requests. The scheduler's ``DownloaderAwarePriorityQueue`` asks the
  downloader for slot keys, so it balances the same per-site slots.
* **The per-slot limit holds without a download delay.** Scrapy's ``_process_queue`` starts
  queued requests while ``free_transfer_slots() > 0``, but a request only counts as
  transferring once its download task runs, after the loop: every request queued in the
  slot starts at once. With ``DOWNLOAD_DELAY`` > 0 (this project's default, AutoThrottle
  too) the loop starts one request per delay and the leak does not show; with
  ``DOWNLOAD_DELAY=0`` (tests, benchmarks, ``-s`` overrides) a slot of 2 ran up to
  ``CONCURRENT_REQUESTS`` downloads in bursts. Here a request counts as transferring from
  the moment it is started.
"""

from __future__ import annotations

from time import monotonic

from scrapy import Request
from scrapy.core.downloader import Downloader, Slot
from scrapy.utils.asyncio import call_later
from scrapy.utils.defer import _schedule_coro

from vendornews.discover import site_key


class SiteDownloader(Downloader):
    """``Downloader`` with a slot per site and the slot's concurrency enforced."""

    def get_slot_key(self, request: Request) -> str:
        meta_slot: str | None = request.meta.get(self.DOWNLOAD_SLOT)
        if meta_slot is not None or self.ip_concurrency:
            return super().get_slot_key(request)  # an explicit slot; per-IP slots
        return site_key(request.url)

    def _process_queue(self, slot: Slot) -> None:
        # Scrapy 2.19's Downloader._process_queue, one line added (marked).
        if slot.latercall:
            return
        now = monotonic()
        delay = slot.download_delay()
        if delay:
            penalty = delay - now + slot.lastseen
            if penalty > 0:
                slot.latercall = call_later(penalty, self._latercall, slot)
                return
        while slot.queue and slot.free_transfer_slots() > 0:
            slot.lastseen = now
            request, queue_dfd = slot.queue.popleft()
            # Added: transferring from now on, not from when the task first runs (the
            # download adds it again, a set, and removes it when done).
            slot.transferring.add(request)
            _schedule_coro(self._wait_for_download(slot, request, queue_dfd))
            if delay:
                self._process_queue(slot)
                break

