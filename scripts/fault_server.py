#!/usr/bin/env python3
"""A deliberately misbehaving HTTP server on 127.0.0.1, for crawler fault tests.

    python scripts/fault_server.py DIR [--port 0] [--other ORIGIN]

Standard library only (asyncio streams), so every byte on the wire is under control. It
serves the static files of ``DIR/site`` like ``scripts/serve_demo.py`` does (``/dir/`` ->
``dir/index.html``, ``PATH?QUERY`` -> ``PATH@QUERY``, HTML as plain ``text/html``) and
breaks the request targets listed in ``DIR/faults.json``::

    {"/news/103.html": {"status": 503, "times": 2}, "/news/chain/*": {"redirect_next": true}}

A key is a request target exactly as sent (path and query, percent-escapes untouched); a key
ending in ``*`` is a prefix, used only when no file answers the target. A fault applies to
the first ``times`` requests for its target (``times`` absent: to every request); after that
the target is served normally. Faults:

``status``        answer this status code (e.g. 500, 503) with a short HTML body.
``reset``         send the headers and half of the body, then abort the connection with
                  a TCP RST (SO_LINGER 0).
``stall``         read the request, answer nothing for that many seconds, close.
``trickle``       send the headers, then one body byte every that many seconds (slowloris).
``short``         declare a Content-Length that many bytes longer than the body sent, close.
``huge``          a body of that many bytes (HTML padding), streamed; with
                  ``"no_length": true`` no Content-Length (the end is the close).
``gzip_bomb``     ``Content-Encoding: gzip`` body that inflates to that many bytes.
``redirect``      301 to this location (relative to the server, or absolute).
``redirect_next`` 301 from ``…/N.html`` to ``…/N+1.html``: an endless redirect chain.
``endless_list``  a news-list page ``…list_N.html`` whose pager links ``list_N+1.html``,
                  for every N: a pagination trap.
``content_type``  send this Content-Type (combinable with the above, or alone: a lying
                  charset).
``file``          serve this file (relative to ``DIR/site``) instead of the target's.

Text bodies (HTML, XML, robots.txt) get their placeholders replaced: ``__ORIGIN__`` by
``http://127.0.0.1:PORT`` and any others given to :func:`make_server` (the tests point
``__OTHER__`` at a second server standing for another host).

Every response says ``Connection: close``. :attr:`FaultServer.requests` logs
``(host header, target)`` of every request received, in order. Tests run the server in a
thread with :func:`serving`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import re
import socket
import struct
import sys
import threading
import zlib
from collections import Counter
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

_TYPES = {".xml": "application/xml", ".txt": "text/plain", ".css": "text/css",
          ".js": "application/javascript", ".png": "image/png", ".jpg": "image/jpeg",
          ".gz": "application/x-gzip"}
_REASONS = {200: "OK", 301: "Moved Permanently", 302: "Found", 404: "Not Found",
            500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable"}
_CHUNK = 256 * 1024
_HEAD_TIMEOUT = 10.0


@cache
def gzip_bomb(size: int) -> bytes:
    """An HTML page gzipped: a few dozen KB that inflate to ``size`` bytes."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)  # 31: gzip container
    head = b"<html><head><title>x</title></head><body><p>"
    parts = [packer.compress(head)]
    block = b" " * (1024 * 1024)
    left = size - len(head)
    while left > 0:
        parts.append(packer.compress(block[:min(left, len(block))]))
        left -= len(block)
    parts.append(packer.flush())
    return b"".join(parts)


class FaultServer:
    """The server's state: files, faults, request log. Runs on its own asyncio loop."""

    def __init__(self, root: Path, host: str = "127.0.0.1", port: int = 0,
                 replacements: dict[str, str] | None = None) -> None:
        self.root = Path(root).resolve()
        self.site = self.root / "site" if (self.root / "site").is_dir() else self.root
        faults_file = self.root / "faults.json"
        self.faults: dict[str, dict[str, Any]] = (
            json.loads(faults_file.read_text("utf-8")) if faults_file.exists() else {})
        self.requests: list[tuple[str, str]] = []
        self._counts: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._sock = socket.create_server((host, port))
        self._address: tuple[str, int] = self._sock.getsockname()[:2]
        self._replacements = dict(replacements or {})
        for fault in self.faults.values():  # built now, not while serving (~0.7 s per 100 MB)
            if "gzip_bomb" in fault:
                gzip_bomb(int(fault["gzip_bomb"]))
        self.loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def origin(self) -> str:
        host, port = self._address
        return f"http://{host}:{port}"

    @property
    def port(self) -> int:
        return int(self._address[1])

    def targets(self) -> list[str]:
        """Request targets received so far, in order."""
        with self._lock:
            return [target for _, target in self.requests]

    def replace(self, body: bytes) -> bytes:
        if b"__" not in body:
            return body
        for name, value in {"__ORIGIN__": self.origin, **self._replacements}.items():
            body = body.replace(name.encode("ascii"), value.encode("ascii"))
        return body

    # ---------------------------------------------------------------- lookup

    def _file(self, target: str) -> Path | None:
        path, _, query = target.partition("?")
        name = path.lstrip("/") + ("@" + query if query else "")
        if path.endswith("/") or not path:
            name += "index.html"
        file = (self.site / name).resolve()
        if not file.is_relative_to(self.site) or not file.is_file():
            return None
        return file

    def _fault(self, target: str) -> dict[str, Any] | None:
        fault = self.faults.get(target)
        if fault is None and self._file(target) is None:
            prefixes = [k for k in self.faults if k.endswith("*") and target.startswith(k[:-1])]
            if prefixes:
                fault = self.faults[max(prefixes, key=len)]
        if fault is None:
            return None
        with self._lock:
            self._counts[target] += 1
            count = self._counts[target]
        times = fault.get("times")
        return fault if times is None or count <= times else None

    def _content_type(self, file: Path) -> str:
        return _TYPES.get(file.suffix, "text/html")

    # ---------------------------------------------------------------- serving

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), _HEAD_TIMEOUT)
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError,
                ConnectionError):
            writer.close()
            return
        lines = head.decode("latin-1").split("\r\n")
        method, target = (lines[0].split(" ") + ["", ""])[:2]
        host = next((line.split(":", 1)[1].strip() for line in lines[1:]
                     if line.lower().startswith("host:")), "")
        with self._lock:
            self.requests.append((host, target))
        try:
            await self._respond(writer, method, target)
        except (ConnectionError, OSError):
            pass  # the client gave up (maxsize, timeout): expected
        finally:
            with contextlib.suppress(Exception):
                writer.close()

    async def _respond(self, writer: asyncio.StreamWriter, method: str, target: str) -> None:
        fault = self._fault(target) or {}
        file = self._file(fault["file"]) if "file" in fault else self._file(target)
        body = self.replace(file.read_bytes()) if file else b""
        content_type = fault.get("content_type") or (self._content_type(file) if file
                                                     else "text/html")
        if "stall" in fault:
            await asyncio.sleep(fault["stall"])
            return
        if "status" in fault:
            status = int(fault["status"])
            return await self._send(writer, status, f"<h1>{status}</h1>".encode())
        if "redirect" in fault:
            return await self._redirect(writer, fault["redirect"])
        if "redirect_next" in fault:
            path = re.sub(r"\d+(?=\.\w+$)", lambda m: str(int(m.group()) + 1), target)
            return await self._redirect(writer, path)
        if "endless_list" in fault:
            return await self._send(writer, 200, self._list_page(target), content_type)
        if "huge" in fault:
            return await self._huge(writer, int(fault["huge"]), bool(fault.get("no_length")))
        if "gzip_bomb" in fault:
            return await self._send(writer, 200, gzip_bomb(int(fault["gzip_bomb"])), content_type,
                                    {"Content-Encoding": "gzip"})
        if file is None:
            return await self._send(writer, 404, b"<h1>404 Not Found</h1>")
        if "reset" in fault:
            writer.write(self._head(200, content_type, len(body)) + body[:len(body) // 2])
            await writer.drain()
            await asyncio.sleep(0.2)  # let the client read the part sent
            sock = writer.get_extra_info("socket")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            writer.transport.abort()
            return
        if "trickle" in fault:
            writer.write(self._head(200, content_type, len(body)))
            for i in range(len(body)):
                writer.write(body[i:i + 1])
                await writer.drain()
                await asyncio.sleep(fault["trickle"])
            return
        if "short" in fault:
            writer.write(self._head(200, content_type, len(body) + int(fault["short"])) + body)
            await writer.drain()
            return
        return await self._send(writer, 200, body if method != "HEAD" else b"", content_type)

    @staticmethod
    def _head(status: int, content_type: str, length: int | None,
              headers: dict[str, str] | None = None) -> bytes:
        lines = [f"HTTP/1.1 {status} {_REASONS.get(status, 'Status')}",
                 f"Content-Type: {content_type}", "Connection: close"]
        if length is not None:
            lines.append(f"Content-Length: {length}")
        lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

    async def _send(self, writer: asyncio.StreamWriter, status: int, body: bytes,
                    content_type: str = "text/html", headers: dict[str, str] | None = None) -> None:
        writer.write(self._head(status, content_type, len(body), headers) + body)
        await writer.drain()

    async def _redirect(self, writer: asyncio.StreamWriter, location: str) -> None:
        location = self.replace(location.encode("ascii")).decode("ascii")
        if not location.startswith(("http://", "https://")):
            location = self.origin + location
        await self._send(writer, 301, b"", headers={"Location": location})

    async def _huge(self, writer: asyncio.StreamWriter, size: int, no_length: bool) -> None:
        head = b"<html><head><title>big</title></head><body><p>"
        writer.write(self._head(200, "text/html", None if no_length else size) + head)
        block = b"x" * _CHUNK
        sent = len(head)
        while sent < size:
            writer.write(block[:size - sent])
            sent += min(len(block), size - sent)
            await writer.drain()

    @staticmethod
    def _list_page(target: str) -> bytes:
        path = target.partition("?")[0]
        match = re.search(r"(\d+)(?=\.\w+$)", path)
        number = int(match.group()) if match else 2

        def page(n: int) -> str:
            return re.sub(r"\d+(?=\.\w+$)", str(n), path)

        return (
            f'<html><head><meta charset="utf-8"><title>新闻中心_第{number}页</title></head><body>'
            '<div class="newslist"><h2>新闻中心</h2><ul></ul></div><div class="pagelist"><ul>'
            f'<li class="thisclass"><span>{number}</span></li>'
            f'<li><a href="{page(number + 1)}">下一页</a></li></ul></div></body></html>'
        ).encode()

    # ---------------------------------------------------------------- running

    async def _serve(self, started: threading.Event) -> None:
        self._stopping = asyncio.Event()
        server = await asyncio.start_server(self._connection, sock=self._sock, limit=1 << 16)
        started.set()
        await self._stopping.wait()
        server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _connection(self, reader: asyncio.StreamReader,
                          writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            await self.handle(reader, writer)
        except asyncio.CancelledError:  # stopping: drop the connection
            writer.transport.abort()
        finally:
            self._tasks.discard(task)

    def run(self, started: threading.Event | None = None) -> None:
        """Serve on a new event loop until :meth:`stop` (blocks)."""
        self.loop = asyncio.new_event_loop()
        try:
            self.loop.run_until_complete(self._serve(started or threading.Event()))
        finally:
            self.loop.close()
            self._sock.close()

    def stop(self) -> None:
        """Stop serving (from any thread); connections still open are dropped."""
        loop, stopping = self.loop, self._stopping
        if loop is not None and stopping is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(stopping.set)


def make_server(root: Path | str, host: str = "127.0.0.1", port: int = 0,
                replacements: dict[str, str] | None = None) -> FaultServer:
    """A bound, not yet serving server (port 0: a free port)."""
    return FaultServer(Path(root), host, port, replacements)


@contextlib.contextmanager
def serving(root: Path | str, replacements: dict[str, str] | None = None,
            server: FaultServer | None = None) -> Iterator[FaultServer]:
    """A running server for ``root`` in a thread; stopped on exit. ``server``: a server
    already made (to know its port before the replacements of another one are set)."""
    server = server or make_server(root, replacements=replacements)
    started = threading.Event()
    thread = threading.Thread(target=server.run, args=(started,), daemon=True)
    thread.start()
    if not started.wait(10):
        raise RuntimeError("fault server did not start")
    try:
        yield server
    finally:
        server.stop()
        thread.join(10)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("root", type=Path, help="folder with site/ and faults.json")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0: a free port")
    parser.add_argument("--other", default="http://localhost:9",
                        help="origin that __OTHER__ stands for (default: a closed port)")
    args = parser.parse_args(argv)
    server = make_server(args.root, args.host, args.port, {"__OTHER__": args.other})
    print(f"serving {args.root} on {server.origin}/", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        server.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
