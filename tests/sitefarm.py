"""Serve a folder of vendor sites on 127.0.0.1 for a test (the demo server, in a thread);
read a crawl's closing stats from its log."""

from __future__ import annotations

import ast
import importlib.util
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "demo"


def _serve_demo() -> ModuleType:
    """scripts/serve_demo.py is a script, not a package module: load it by path."""
    spec = importlib.util.spec_from_file_location("serve_demo", ROOT / "scripts" / "serve_demo.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


serve_demo = _serve_demo()


@contextmanager
def serving(folder: Path) -> Iterator[serve_demo.DemoServer]:  # type: ignore[name-defined]
    """A running server for ``folder`` on a free port; stopped on exit."""
    server = serve_demo.make_server(folder)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1},
                              daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def parse_stats(log: str) -> dict[str, Any]:
    """The stats dict Scrapy logs at close ("Dumping Scrapy stats:" and a pprint'ed dict)."""
    match = re.search(r"Dumping Scrapy stats:\n(\{.*?\})\n(?=\d{4}-\d\d-\d\d |\Z)", log, re.S)
    assert match, "no stats block in the crawl log"
    text = re.sub(r"datetime\.datetime\([^()]*(?:\([^()]*\)[^()]*)*\)", "None", match.group(1))
    return ast.literal_eval(text)
