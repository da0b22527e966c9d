"""The dev-farm pages the tests read, each stored once.

``tests/fixtures/farm/<site>/<path>`` holds farm pages at their farm paths (those of
``shared/farm/dev``), as the farm stores them (``__ORIGIN__`` placeholders unreplaced). A
farm page that is also a regression case of ``tests/fixtures/pages`` is stored only there;
``tests/fixtures/farm/elsewhere.json`` names its file, with ``served_at`` where that copy was
saved as served (``__ORIGIN__`` replaced by that origin) and the sha256 of the farm bytes,
checked on every read. :func:`farm_bytes` gives a farm page's bytes either way.
"""

from __future__ import annotations

import functools
import hashlib
import json
from pathlib import Path

FIXTURES = Path(__file__).resolve().parent / "fixtures"
FARM = FIXTURES / "farm"


@functools.cache
def _elsewhere() -> dict[str, dict[str, str]]:
    found: dict[str, dict[str, str]] = json.loads(
        (FARM / "elsewhere.json").read_text("utf-8"))
    return found


def farm_bytes(path: str) -> bytes:
    """The farm's bytes of page ``path`` (``site/...`` as under the farm root, e.g.
    ``jxjcj/a/hangye/2465.html``; ``x/index.html`` for the URL ``x/``)."""
    entry = _elsewhere().get(path)
    if entry is None:
        return (FARM / path).read_bytes()
    data = (FIXTURES / entry["file"]).read_bytes()
    if "served_at" in entry:
        data = data.replace(entry["served_at"].encode(), b"__ORIGIN__")
    if hashlib.sha256(data).hexdigest() != entry["sha256"]:
        raise ValueError(f"farm page {path}: {entry['file']} no longer gives its bytes")
    return data


def stored_elsewhere(path: str) -> bool:
    """Whether farm page ``path`` is stored in ``tests/fixtures/pages`` instead of the farm tree."""
    return path in _elsewhere()
