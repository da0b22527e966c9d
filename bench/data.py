"""The fixed page set of the performance benchmarks (``bench/perf_*.py``).

* the dev farm's article pages: every gold ``url`` and its continuation ``parts``, a URL
  ending in ``/`` read as ``index.html``, served with the Content-Type the farm's
  ``sites.json`` records (``serve.py`` sends the same);
* the real Chinese pages of ``corpus/real_zh`` (``pages/*.html``), with the charset header
  their gold line records.

A folder that is missing is skipped with a message on stderr. Every page is one file: the
unit the throughput figures count.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vendornews.decode import decode_html
from vendornews.record import FetchedPage

CHECKOUT = Path(__file__).resolve().parents[1]
DEFAULT_SHARED = CHECKOUT.parent / "shared"
FARM = Path("farm/dev")
REAL_ZH = Path("corpus/real_zh")
# serve.py replaces this placeholder (canonical links, …) with the origin it serves on.
FARM_PLACEHOLDER = b"__ORIGIN__"
FARM_ORIGIN = "http://127.0.0.1:8000"


@dataclass(frozen=True)
class BenchPage:
    """One page file as a crawler would receive it."""

    url: str
    body: bytes
    content_type: str | None
    origin: str  # "farm" or "real_zh"

    @property
    def headers(self) -> dict[str, str]:
        return {"content-type": self.content_type} if self.content_type else {}

    def fetched(self) -> FetchedPage:
        return FetchedPage(self.url, self.body, self.headers)

    def text(self) -> str:
        """The page as vendornews decodes it: the input every other tool is given."""
        return decode_html(self.body, self.content_type)[0]


def _read_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            if line.strip():
                yield json.loads(line)


def farm_file(farm: Path, url_path: str) -> Path:
    """The file a farm URL path names (``/a/b/`` is ``a/b/index.html``)."""
    relative = url_path.lstrip("/")
    return farm / (relative + "index.html" if relative.endswith("/") or not relative else relative)


def _farm_content_types(farm: Path) -> dict[str, str]:
    sites_json = farm / "sites.json"
    if not sites_json.exists():
        return {}
    sites = json.loads(sites_json.read_text(encoding="utf-8"))["sites"]
    return {path: info["content_type"] for site in sites for path, info in site["pages"].items()}


def farm_pages(farm: Path) -> list[BenchPage]:
    """The gold articles' page files (page 1 and continuation pages), in gold order."""
    content_types = _farm_content_types(farm)
    pages: list[BenchPage] = []
    for gold in _read_jsonl(farm / "gold.jsonl"):
        for path in [gold["url"], *gold.get("parts", [])]:
            file = farm_file(farm, path)
            if file.suffix.lower() not in (".html", ".htm"):
                continue
            body = file.read_bytes().replace(FARM_PLACEHOLDER, FARM_ORIGIN.encode())
            pages.append(BenchPage(FARM_ORIGIN + path, body, content_types.get(path), "farm"))
    return pages


def real_pages(set_dir: Path) -> list[BenchPage]:
    """``pages/*.html`` of a corpus set, with the URL and charset header of its gold line."""
    gold = {Path(g["file"]).name: g for g in _read_jsonl(set_dir / "gold.jsonl")} \
        if (set_dir / "gold.jsonl").exists() else {}
    pages: list[BenchPage] = []
    for file in sorted((set_dir / "pages").glob("*.html")):
        line = gold.get(file.name, {})
        charset = line.get("charset_header")
        pages.append(BenchPage(line.get("url", file.resolve().as_uri()), file.read_bytes(),
                               f"text/html; charset={charset}" if charset else None,
                               set_dir.name))
    return pages


def load_pages(shared: Path = DEFAULT_SHARED) -> list[BenchPage]:
    """The benchmark page set: farm article pages, then real_zh pages."""
    pages: list[BenchPage] = []
    farm, real = shared / FARM, shared / REAL_ZH
    if (farm / "gold.jsonl").exists():
        pages += farm_pages(farm)
    else:
        print(f"bench.data: {farm} missing, farm pages skipped", file=sys.stderr)
    if (real / "pages").is_dir():
        pages += real_pages(real)
    else:
        print(f"bench.data: {real / 'pages'} missing, real_zh pages skipped", file=sys.stderr)
    if not pages:
        raise SystemExit(f"bench.data: no pages under {shared}")
    return pages


def describe(pages: list[BenchPage]) -> str:
    """``209 pages (186 farm, 23 real_zh), 7.1 MB``."""
    counts: dict[str, int] = {}
    for page in pages:
        counts[page.origin] = counts.get(page.origin, 0) + 1
    size = sum(len(p.body) for p in pages) / 1e6
    parts = ", ".join(f"{n} {origin}" for origin, n in counts.items())
    return f"{len(pages)} pages ({parts}), {size:.1f} MB"


if __name__ == "__main__":
    print(describe(load_pages()))
