"""Start-up costs: the command on one page, a crawl to its first response, the import.

    .venv/bin/python -m bench.perf_startup [--repeat 5] [--shared ../shared]

Every figure is the median wall time (``time.perf_counter`` around a subprocess) of
``--repeat`` runs, with ``python -c pass`` as the floor of the ratios:

* ``python -c "import vendornews"``;
* ``vendornews extract FILE`` (the venv's console script) on the first page of the set;
* ``scrapy crawl vendor_news`` against the served dev farm, to its first "Crawled (…)"
  DEBUG line (read from the log as it is written; the crawl is then stopped), and the same
  for the bare spider of :mod:`bench.perf_crawl` (``scrapy runspider``) on the same start URL.

Then, in one fresh process, that jieba loads lazily: whether ``jieba`` is in
``sys.modules`` after ``import vendornews`` and after the first extraction, and the time
of the import, of the first extraction (jieba's dictionary load included) and of the second.
Last, the slowest imports under ``import vendornews`` (``python -X importtime``).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from bench.data import CHECKOUT, DEFAULT_SHARED, load_pages
from bench.perf_common import (
    PYTHON,
    crawl_env,
    machine,
    median_of,
    serve_farm,
    table,
    venv_tool,
)
from bench.perf_crawl import fast_settings

FIRST_RESPONSE_TIMEOUT = 120

LAZY_PROBE = """
import json, sys, time
t0 = time.perf_counter()
import vendornews
from vendornews.record import FetchedPage
t1 = time.perf_counter()
after_import = "jieba" in sys.modules
page = FetchedPage(sys.argv[1], open(sys.argv[2], "rb").read(), {})
vendornews.extract_article([page], crawled_at="2026-01-01T00:00:00")
t2 = time.perf_counter()
after_extract = "jieba" in sys.modules
vendornews.extract_article([page], crawled_at="2026-01-01T00:00:00")
t3 = time.perf_counter()
print(json.dumps({"import": t1 - t0, "first": t2 - t1, "second": t3 - t2,
                  "jieba_after_import": after_import, "jieba_after_extract": after_extract}))
"""


def run_wall(argv: Sequence[str], cwd: Path = CHECKOUT) -> float:
    start = time.perf_counter()
    done = subprocess.run(argv, cwd=cwd, env=crawl_env(), capture_output=True, check=False)
    elapsed = time.perf_counter() - start
    if done.returncode:
        raise SystemExit(f"{' '.join(argv)} exited {done.returncode}:\n"
                         f"{done.stderr.decode(errors='replace')[-2000:]}")
    return elapsed


def to_first_response(argv: Sequence[str]) -> float:
    """Seconds from launch to the first "Crawled (" log line; the process is then stopped."""
    start = time.perf_counter()
    process = subprocess.Popen(argv, cwd=CHECKOUT, env=crawl_env(), stderr=subprocess.PIPE,
                               stdout=subprocess.DEVNULL, text=True, start_new_session=True)
    assert process.stderr is not None
    try:
        for line in process.stderr:
            if "Crawled (" in line:
                return time.perf_counter() - start
            if time.perf_counter() - start > FIRST_RESPONSE_TIMEOUT:
                break
        raise SystemExit(f"no 'Crawled (' line from {' '.join(argv[:4])}")
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def first_page_file(shared: Path, workdir: Path) -> tuple[Path, str]:
    page = load_pages(shared)[0]
    file = workdir / "page.html"
    file.write_bytes(page.body)
    return file, page.url


def crawl_argvs(start_url: str, workdir: Path) -> dict[str, list[str]]:
    debug = [*fast_settings(workdir, "startup"), "-s", "LOG_LEVEL=DEBUG"]
    bare_urls = workdir / "start.txt"
    bare_urls.write_text(start_url + "\n", encoding="utf-8")
    return {
        "`scrapy crawl vendor_news`, to its first response":
            [PYTHON, "-m", "scrapy", "crawl", "vendor_news", "-a", f"start_urls={start_url}",
             "-a", f"output_dir={workdir}", "-O", str(workdir / "out.jsonl"), *debug],
        "bare `scrapy runspider`, to its first response":
            [PYTHON, "-m", "scrapy", "runspider", str(CHECKOUT / "bench" / "perf_crawl.py"),
             "-a", f"urls_file={bare_urls}", *debug],
    }


def measure(shared: Path, workdir: Path, repeat: int) -> dict[str, list[float]]:
    file, url = first_page_file(shared, workdir)
    commands = {
        "`python -c pass` (floor)": [PYTHON, "-c", "pass"],
        "`python -c \"import vendornews\"`": [PYTHON, "-c", "import vendornews"],
        "`vendornews extract FILE` (one page)": [venv_tool("vendornews"), "extract", str(file),
                                                 "--url", url],
    }
    times: dict[str, list[float]] = {name: [] for name in commands}
    with serve_farm(shared) as served:
        crawls = crawl_argvs(served.start_urls[0], workdir)
        times.update({name: [] for name in crawls})
        for _ in range(repeat):
            for name, argv in commands.items():
                times[name].append(run_wall(argv))
            for name, argv in crawls.items():
                times[name].append(to_first_response(argv))
    return times


def lazy_probe(shared: Path, workdir: Path) -> dict[str, float | bool]:
    file, url = first_page_file(shared, workdir)
    done = subprocess.run([PYTHON, "-c", LAZY_PROBE, url, str(file)], cwd=CHECKOUT,
                          env=crawl_env(), capture_output=True, text=True, check=True)
    result: dict[str, float | bool] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def slowest_imports(module: str = "vendornews", limit: int = 10) -> list[tuple[str, float]]:
    """Packages and ``module``'s submodules by cumulative import time (``-X importtime``)."""
    done = subprocess.run([PYTHON, "-X", "importtime", "-c", f"import {module}"], cwd=CHECKOUT,
                          env=crawl_env(), capture_output=True, text=True, check=True)
    totals: dict[str, float] = {}
    for line in done.stderr.splitlines():
        parts = line.removeprefix("import time:").split("|")
        if len(parts) != 3 or not parts[1].strip().isdigit():
            continue
        name = parts[2].strip()
        if "." not in name or name.startswith(module + "."):
            totals[name] = max(totals.get(name, 0.0), int(parts[1]) / 1e6)
    return sorted(totals.items(), key=lambda item: item[1], reverse=True)[:limit]


def report(times: dict[str, list[float]]) -> str:
    floor = median_of(times["`python -c pass` (floor)"])
    rows = [[name, f"{median_of(t):.2f}", f"{min(t):.2f}-{max(t):.2f}",
             f"{median_of(t) / floor:.1f}x"] for name, t in times.items()]
    return table(["command", "seconds", "min-max", "vs python -c pass"], rows)


def lazy_report(probe: dict[str, float | bool]) -> str:
    def loaded(flag: float | bool) -> str:
        return "yes" if flag else "no"

    rows = [
        ["`import vendornews`", f"{probe['import']:.2f}", loaded(probe["jieba_after_import"])],
        ["first `extract_article` (jieba dictionary load)", f"{probe['first']:.2f}",
         loaded(probe["jieba_after_extract"])],
        ["second `extract_article`", f"{probe['second']:.3f}", "yes"],
    ]
    return table(["step, one fresh process", "seconds", "jieba in sys.modules after"], rows)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--shared", type=Path, default=DEFAULT_SHARED)
    args = parser.parse_args(argv)
    print(f"# Start-up\n\n{machine()}\n\nMedian of {args.repeat} runs each.\n")
    with tempfile.TemporaryDirectory(prefix="vn-perf-startup-") as tmp:
        workdir = Path(tmp)
        print(report(measure(args.shared, workdir, args.repeat)))
        print()
        print(lazy_report(lazy_probe(args.shared, workdir)))
    print()
    print(table(["slowest imports under `import vendornews`", "seconds (cumulative)"],
                [[f"`{name}`", f"{seconds:.3f}"] for name, seconds in slowest_imports()]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
