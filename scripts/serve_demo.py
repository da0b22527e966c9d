#!/usr/bin/env python3
"""Serve a folder of demo vendor sites on 127.0.0.1 (standard library only).

    python scripts/serve_demo.py [DIR] [--port 0]

Prints ``serving DIR on http://127.0.0.1:PORT/`` and one ``site NAME URL`` line per
subfolder holding an ``index.html`` (a site's home page, the crawl's start URL), then
serves until SIGTERM/SIGINT. Like a real vendor host it:

* answers ``/dir`` with a 301 to ``/dir/`` and serves ``index.html`` for ``/dir/``;
* serves ``PATH?QUERY`` from the file named ``PATH@QUERY``
  (``news_show.asp?id=12`` -> ``news_show.asp@id=12``);
* sends HTML as plain ``text/html`` (the charset only declared inside the page) unless
  ``DIR/server.json`` maps a path prefix to another Content-Type;
* follows ``DIR/server.json``: ``redirects`` (old path -> new path or absolute URL, 301)
  and ``flaky`` (paths answering 503 to their first request);
* replaces ``__ORIGIN__`` in text files (robots.txt, sitemaps) with ``http://HOST:PORT``.

Tests import :func:`make_server` and read :attr:`DemoServer.requests` to see what a crawl
fetched.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

_TYPES = {".xml": "application/xml", ".txt": "text/plain", ".css": "text/css",
          ".js": "application/javascript", ".png": "image/png", ".jpg": "image/jpeg"}


class DemoServer(ThreadingHTTPServer):
    """The HTTP server plus the demo's config and a log of request targets."""

    daemon_threads = True

    def __init__(self, root: Path, host: str, port: int) -> None:
        self.root = root.resolve()
        config_file = self.root / "server.json"
        config = json.loads(config_file.read_text("utf-8")) if config_file.exists() else {}
        self.redirects: dict[str, str] = config.get("redirects", {})
        self.flaky: set[str] = set(config.get("flaky", []))
        self.content_types: dict[str, str] = config.get("content_types", {})
        self.requests: list[str] = []
        self._lock = threading.Lock()
        super().__init__((host, port), _Handler)

    @property
    def origin(self) -> str:
        host, port = self.server_address[:2]
        if isinstance(host, bytes):
            host = host.decode()
        return f"http://{host}:{port}"

    def sites(self) -> dict[str, str]:
        """Site name -> home page URL, for every subfolder with an index.html."""
        return {d.name: f"{self.origin}/{d.name}/" for d in sorted(self.root.iterdir())
                if (d / "index.html").is_file()}

    def log_request_target(self, target: str) -> bool:
        """Record a request; True when it is the first request for that target."""
        with self._lock:
            first = target not in self.requests
            self.requests.append(target)
            return first


class _Handler(BaseHTTPRequestHandler):
    server: DemoServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib name
        """Quiet: the request log lives in DemoServer.requests."""

    def _send(self, status: int, body: bytes = b"", content_type: str = "text/html",
              headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _file_for(self, path: str, query: str) -> Path | None:
        name = path.lstrip("/") + ("@" + query if query else "")
        if path.endswith("/"):
            name += "index.html"
        file = (self.server.root / name).resolve()
        if not file.is_relative_to(self.server.root) or not file.is_file():
            return None
        return file

    def _content_type(self, path: str, file: Path) -> str:
        if file.suffix in _TYPES:
            return _TYPES[file.suffix]
        prefixes = [p for p in self.server.content_types if path.startswith(p)]
        return self.server.content_types[max(prefixes, key=len)] if prefixes else "text/html"

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        path, query = unquote(parts.path) or "/", parts.query
        target = path + ("?" + query if query else "")
        first = self.server.log_request_target(target)
        server = self.server
        if target in server.redirects:
            location = server.redirects[target]
            if not location.startswith(("http://", "https://")):
                location = server.origin + location
            return self._send(301, headers={"Location": location})
        if target in server.flaky and first:
            return self._send(503, b"<h1>503 Service Unavailable</h1>",
                              headers={"Retry-After": "1"})
        file = self._file_for(path, query)
        if file is None:
            if not path.endswith("/") and self._file_for(path + "/", query):
                return self._send(301, headers={"Location": server.origin + path + "/"})
            return self._send(404, b"<h1>404 Not Found</h1>")
        body = file.read_bytes()
        content_type = self._content_type(path, file)
        if content_type.startswith(("text/plain", "application/xml")):
            body = body.replace(b"__ORIGIN__", server.origin.encode("ascii"))
        return self._send(200, body, content_type)

    do_HEAD = do_GET


def make_server(root: Path | str, host: str = "127.0.0.1", port: int = 0) -> DemoServer:
    """A bound, not yet serving server (port 0: a free port)."""
    return DemoServer(Path(root), host, port)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("root", nargs="?", default=Path(__file__).parent.parent / "demo",
                        type=Path, help="folder to serve (default: the bundled demo/)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0: a free port")
    args = parser.parse_args(argv)
    server = make_server(args.root, args.host, args.port)
    print(f"serving {args.root} on {server.origin}/", flush=True)
    for name, url in server.sites().items():
        print(f"site {name} {url}", flush=True)

    def stop(signum: int, frame: object) -> None:
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    server.serve_forever(poll_interval=0.2)
    server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
