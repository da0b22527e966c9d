#!/usr/bin/env python3
"""Run a throw-away redis-server on a free 127.0.0.1 port (standard library only).

    python scripts/redis_server.py [--port 0] [--dir DIR]

Prints ``redis redis://127.0.0.1:PORT/0`` once the server answers PING, then runs until
SIGTERM/SIGINT. Nothing is persisted (``--save '' --appendonly no``); the working directory
is a temporary one unless ``--dir`` is given. Tests use :func:`running` (a context manager
yielding the URL); ``scripts/install_redis.sh`` installs the server.
"""

from __future__ import annotations

import argparse
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def ping(host: str, port: int, timeout: float = 0.5) -> bool:
    """True when a Redis server answers PING on host:port."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def start(directory: Path, host: str = "127.0.0.1", port: int = 0,
          timeout: float = 10.0) -> tuple[subprocess.Popen[bytes], str]:
    """A started redis-server process and its URL (``port`` 0: a free port)."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise FileNotFoundError("redis-server not found: run scripts/install_redis.sh")
    for _attempt in range(5):
        chosen = port or free_port(host)
        process = subprocess.Popen(
            [binary, "--port", str(chosen), "--bind", host, "--save", "", "--appendonly", "no",
             "--dir", str(directory), "--protected-mode", "yes", "--loglevel", "warning"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and process.poll() is None:
            if ping(host, chosen):
                return process, f"redis://{host}:{chosen}/0"
            time.sleep(0.05)
        error = b""
        if process.poll() is None:
            process.kill()
        else:
            error = process.stderr.read() if process.stderr else b""
        process.wait()
        if port:  # a fixed port that does not work: no other to try
            break
    raise RuntimeError(f"redis-server did not start: {error.decode(errors='replace')[-500:]}")


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    if process.stderr:
        process.stderr.close()


@contextmanager
def running(directory: Path | None = None) -> Iterator[str]:
    """The URL of a fresh redis-server, stopped (and its temporary folder removed) on exit."""
    with tempfile.TemporaryDirectory(prefix="redis-") as tmp:
        process, url = start(Path(directory or tmp))
        try:
            yield url
        finally:
            stop(process)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0: a free port")
    parser.add_argument("--dir", type=Path, help="working directory (default: a temporary one)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="redis-") as tmp:
        process, url = start(args.dir or Path(tmp), args.host, args.port)
        print(f"redis {url}", flush=True)

        def terminate(signum: int, frame: object) -> None:
            stop(process)

        signal.signal(signal.SIGTERM, terminate)
        signal.signal(signal.SIGINT, terminate)
        process.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
