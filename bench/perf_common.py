"""Shared helpers of the performance benchmarks: the machine line, tables, timing, servers."""

from __future__ import annotations

import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from statistics import median

from bench.data import CHECKOUT, DEFAULT_SHARED, FARM

PYTHON = sys.executable
VENV_BIN = Path(sys.executable).parent
SERVE = "farm/serve.py"


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def idle_share(seconds: float = 1.0) -> float | None:
    """Share of all cores' time that was idle over ``seconds`` (``/proc/stat``)."""

    def sample() -> tuple[int, int]:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        return fields[3] + fields[4], sum(fields[:8])  # idle + iowait, total

    try:
        idle0, total0 = sample()
        time.sleep(seconds)
        idle1, total1 = sample()
    except (OSError, ValueError, IndexError):
        return None
    return (idle1 - idle0) / max(1, total1 - total0)


def machine() -> str:
    """One markdown line: CPU, cores, Python, how busy the machine was when the run started.

    Other work on a shared machine slows every figure; the idle share says how much.
    """
    load = " / ".join(f"{x:.2f}" for x in os.getloadavg())
    idle = idle_share()
    idle_text = f", {idle:.0%} of CPU idle at start" if idle is not None else ""
    return (f"Machine: {cpu_model()}, {os.cpu_count()} cores, Python "
            f"{platform.python_version()}; load average {load}{idle_text}")


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A markdown table; floats as given (format them before)."""
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def timed(run: Callable[[], object]) -> float:
    """Wall seconds of one call (``time.perf_counter``)."""
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


def median_of(samples: Sequence[float]) -> float:
    return float(median(samples))


def rss_mb() -> float:
    """Current resident set size of this process (``/proc/self/statm``)."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far (``getrusage``: kB on Linux)."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def venv_tool(name: str) -> str:
    """A console script of this interpreter's venv (falls back to PATH)."""
    candidate = VENV_BIN / name
    return str(candidate) if candidate.exists() else (shutil.which(name) or name)


# --------------------------------------------------------------------------------------
# the farm server
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Served:
    """A running ``serve.py --site-ports``: one start URL per site."""

    process: subprocess.Popen[str]
    start_urls: list[str]


_SITE_LINE = re.compile(r"^site (\S+) (\S+)$")


def _site_count(farm: Path) -> int:
    import json

    return len(json.loads((farm / "sites.json").read_text(encoding="utf-8"))["sites"])


# serve.py with TCP_NODELAY on its sockets (http.server's ``disable_nagle_algorithm``):
# stock, a response on a kept-alive connection waits ~40 ms for the client's delayed ACK
# (headers and body go out in separate writes). argv: serve.py, latency in seconds, args.
_PATCHED = """
import importlib.util, sys, time
spec = importlib.util.spec_from_file_location("farm_serve", sys.argv[1])
serve = importlib.util.module_from_spec(spec)
spec.loader.exec_module(serve)
serve.Handler.disable_nagle_algorithm = True
latency, handle = float(sys.argv[2]), serve.Handler.handle_request
def slow(self, head):
    time.sleep(latency)
    return handle(self, head)
if latency:
    serve.Handler.handle_request = slow
sys.exit(serve.main(sys.argv[3:]))
"""


@contextmanager
def serve_farm(shared: Path = DEFAULT_SHARED, farm: Path | None = None,
               nodelay: bool = False, latency: float = 0.0) -> Iterator[Served]:
    """Serve a farm (the dev farm by default), one origin per site, stopped on exit.

    ``nodelay``: run ``serve.py`` with TCP_NODELAY, its code unchanged (see ``_PATCHED``);
    ``latency``: and wait that many seconds before each response, as a distant host does.
    """
    farm = farm or shared / FARM
    server = shared / SERVE
    if not server.exists() or not (farm / "sites.json").exists():
        raise SystemExit(f"cannot serve the farm: {server} or {farm / 'sites.json'} missing")
    launcher = [PYTHON, "-c", _PATCHED, str(server), str(latency)] \
        if nodelay or latency else [PYTHON, str(server)]
    process = subprocess.Popen([*launcher, str(farm), "--port", "0", "--site-ports"],
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        urls = []
        assert process.stdout is not None
        for _ in range(_site_count(farm)):
            match = _SITE_LINE.match(process.stdout.readline().strip())
            if not match:
                raise SystemExit("serve.py did not print its site lines")
            urls.append(match[2])
        yield Served(process, urls)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def crawl_env() -> dict[str, str]:
    """Environment of a scrapy subprocess: the checkout importable, no stray settings."""
    env = {k: v for k, v in os.environ.items() if k != "SCRAPY_SETTINGS_MODULE"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(CHECKOUT), env.get("PYTHONPATH")]))
    return env
