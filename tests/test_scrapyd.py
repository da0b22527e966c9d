"""Scheduled runs on a real Scrapyd: deploy the project, schedule ``vendor_news`` twice.

Scrapyd (PyPI ``scrapyd``) runs on 127.0.0.1 on a free port from a scrapyd.conf in a tmp
folder; ``scrapyd-deploy`` (PyPI ``scrapyd-client``) builds the project's egg from a copy of
the checkout and uploads it; ``schedule.json`` runs the spider against the demo sites with
absolute output paths (a Scrapyd job runs in Scrapyd's folder). The second run is the next
day's: it exports nothing new.
"""

from __future__ import annotations

import fcntl
import json
import shutil
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sitefarm import DEMO, ROOT, serving
from test_crawl import EXPECTED, target

pytest.importorskip("scrapyd", reason="scrapyd not installed (scripts/install_scrapyd.sh)")
BIN = Path(sys.executable).parent
if not (BIN / "scrapyd-deploy").exists():
    pytest.skip("scrapyd-client not installed (scripts/install_scrapyd.sh)",
                allow_module_level=True)

# What an egg needs from the checkout (pyproject names README.md as the readme).
PROJECT_FILES = ("pyproject.toml", "README.md", "vendornews", "spiders", "pipelines")


ENTRY_POINT = '\n[project.entry-points.scrapy]\nsettings = "spiders.settings"\n'


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Scrapyd:
    url: str
    folder: Path

    def get(self, endpoint: str, **params: str) -> dict[str, Any]:
        query = urllib.parse.urlencode(params)
        with urllib.request.urlopen(f"{self.url}{endpoint}?{query}", timeout=10) as answer:
            return dict(json.load(answer))

    def post(self, endpoint: str, fields: list[tuple[str, str]]) -> dict[str, Any]:
        data = urllib.parse.urlencode(fields).encode()
        with urllib.request.urlopen(f"{self.url}{endpoint}", data=data, timeout=10) as answer:
            return dict(json.load(answer))

    def wait_finished(self, job: str, timeout: float = 60) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            jobs = self.get("listjobs.json", project="vendornews")
            for entry in jobs["finished"]:
                if entry["id"] == job:
                    return dict(entry)
            time.sleep(0.5)
        raise AssertionError(f"job {job} not finished in {timeout} s: {jobs}")

    def log(self, job: str) -> str:
        return (self.folder / "logs" / "vendornews" / "vendor_news" / f"{job}.log").read_text(
            "utf-8")


@pytest.fixture(scope="module")
def scrapyd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scrapyd]:
    folder = tmp_path_factory.mktemp("scrapyd")
    port = free_port()
    (folder / "scrapyd.conf").write_text(
        "[scrapyd]\n"
        f"bind_address = 127.0.0.1\nhttp_port = {port}\n"
        f"eggs_dir = {folder / 'eggs'}\nlogs_dir = {folder / 'logs'}\n"
        f"dbs_dir = {folder / 'dbs'}\nitems_dir =\njobs_dir =\n"
        "max_proc = 2\npoll_interval = 0.5\n", "utf-8")
    server = subprocess.Popen([str(BIN / "scrapyd")], cwd=folder, stdout=subprocess.DEVNULL,
                              stderr=(folder / "scrapyd.err").open("wb"))
    try:
        service = Scrapyd(f"http://127.0.0.1:{port}/", folder)
        deadline = time.monotonic() + 30
        while True:
            try:
                if service.get("daemonstatus.json")["status"] == "ok":
                    break
            except OSError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                raise AssertionError("scrapyd did not start: "
                                     + (folder / "scrapyd.err").read_text("utf-8")[-2000:])
            time.sleep(0.2)
        yield service
    finally:
        server.terminate()
        server.wait(10)


def deploy(scrapyd: Scrapyd, folder: Path) -> dict[str, Any]:
    """``scrapyd-deploy`` from a copy of the checkout (it writes a setup.py there)."""
    project = folder / "project"
    project.mkdir()
    for name in PROJECT_FILES:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, project / name,
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy(source, project / name)
    # Scrapyd finds a project's settings through the egg's "scrapy" entry point. With a
    # [project] table in pyproject.toml setuptools ignores the entry_points of the setup.py
    # that scrapyd-deploy writes: pyproject.toml must declare it (ENTRY_POINT). Until it
    # does, the copy gets it here.
    pyproject = (project / "pyproject.toml").read_text("utf-8")
    if "[project.entry-points.scrapy]" not in pyproject:
        (project / "pyproject.toml").write_text(pyproject + ENTRY_POINT, "utf-8")
    (project / "scrapy.cfg").write_text(
        "[settings]\ndefault = spiders.settings\n\n"
        f"[deploy:test]\nurl = {scrapyd.url}\nproject = vendornews\n", "utf-8")
    egg = folder / "vendornews.egg"
    built = subprocess.run([str(BIN / "scrapyd-deploy"), "test", "--build-egg", str(egg)],
                           cwd=project, capture_output=True, text=True, timeout=120)
    assert built.returncode == 0, built.stderr
    done = subprocess.run([str(BIN / "scrapyd-deploy"), "test", "--version", "1"],
                          cwd=project, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout[done.stdout.index("{"):])
    answer["egg"] = egg
    return answer


@dataclass
class Scheduled:
    deployed: dict[str, Any]
    jobs: list[dict[str, Any]]
    logs: list[str]
    out: Path
    folder: Path


@pytest.fixture(scope="module")
def scheduled(scrapyd: Scrapyd, tmp_path_factory: pytest.TempPathFactory) -> Scheduled:
    folder = tmp_path_factory.mktemp("scheduled")
    deployed = deploy(scrapyd, folder)
    out = folder / "out"
    jobs, logs = [], []
    with serving(DEMO) as demo:
        starts = ",".join(demo.sites().values())
        for _day in range(2):
            answer = scrapyd.post("schedule.json", [
                ("project", "vendornews"), ("spider", "vendor_news"),
                ("start_urls", starts), ("output_dir", str(out)),
                ("setting", f"VENDORNEWS_STATE={folder / 'state.sqlite'}"),
                ("setting", "AUTOTHROTTLE_ENABLED=0"), ("setting", "DOWNLOAD_DELAY=0"),
            ])
            assert answer["status"] == "ok", answer
            jobs.append(scrapyd.wait_finished(answer["jobid"]))
            logs.append(scrapyd.log(answer["jobid"]))
    return Scheduled(deployed, jobs, logs, out, folder)


def test_the_egg_holds_the_project_packages(scheduled: Scheduled) -> None:
    assert scheduled.deployed["status"] == "ok"
    assert scheduled.deployed["spiders"] >= 1
    names = zipfile.ZipFile(scheduled.deployed["egg"]).namelist()
    for module in ("spiders/settings.py", "spiders/vendor_news.py", "pipelines/state.py",
                   "pipelines/archive.py", "vendornews/warc.py", "vendornews/rules/default.toml",
                   "vendornews/overrides.toml"):
        assert module in names
    entry = zipfile.ZipFile(scheduled.deployed["egg"]).read("EGG-INFO/entry_points.txt")
    assert b"settings = spiders.settings" in entry
    # importable from the egg alone (ahead of the checkout on sys.path)
    probe = subprocess.run(
        [sys.executable, "-c", "import spiders.settings, pipelines.state, pipelines.archive, "
         "spiders.vendor_news as s; print(s.__file__)"],
        env={"PYTHONPATH": str(scheduled.deployed["egg"]), "PATH": "/usr/bin:/bin"},
        cwd=scheduled.folder, capture_output=True, text=True, timeout=60)
    assert probe.returncode == 0, probe.stderr
    assert probe.stdout.strip().startswith(str(scheduled.deployed["egg"]))


def test_a_scheduled_crawl_exports_the_demo_news(scheduled: Scheduled) -> None:
    first = scheduled.jobs[0]
    assert first["spider"] == "vendor_news"
    assert "Spider closed (finished)" in scheduled.logs[0]
    (jsonl, *_rest) = sorted(scheduled.out.glob("news-*.jsonl"))
    records = [json.loads(line) for line in jsonl.read_text("utf-8").splitlines()]
    assert {target(r["url"]) for r in records} == EXPECTED
    assert len(list((scheduled.out / "warc").glob("*.warc.gz"))) == 2
    assert (scheduled.folder / "state.sqlite").exists()


def test_the_next_scheduled_run_exports_nothing_new(scheduled: Scheduled) -> None:
    assert "nothing new: this run exported no record" in scheduled.logs[1]
    journals = sorted(scheduled.out.glob("news-*.jsonl"))
    assert len(journals) == 2 and journals[1].read_text("utf-8") == ""


# --------------------------------------------------------------------------- cron


def test_daily_crawl_script_runs_once_at_a_time(tmp_path: Path) -> None:
    out = tmp_path / "out"
    script = ROOT / "scripts" / "daily_crawl.sh"
    env = {"PATH": "/usr/bin:/bin", "VENDORNEWS_OUTPUT_DIR": str(out)}
    fast = ["-s", "AUTOTHROTTLE_ENABLED=0", "-s", "DOWNLOAD_DELAY=0"]
    with serving(DEMO) as demo:
        sites = tmp_path / "sites.txt"
        sites.write_text("".join(f"{url}\n" for url in demo.sites().values()), "utf-8")
        done = subprocess.run([str(script), str(sites), *fast], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stdout + done.stderr
        assert "exported 22 records: 22 new" in done.stdout
        assert done.stdout.rstrip().endswith("done")
        assert len(list(out.glob("news-*.jsonl"))) == 1 and (out / "state.sqlite").exists()
        assert len(list((out / "logs").glob("crawl-*.log"))) == 1
        # the previous run still holds the lock: the next one steps aside
        with (out / ".daily_crawl.lock").open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            skipped = subprocess.run([str(script), str(sites), *fast], cwd=tmp_path, env=env,
                                     capture_output=True, text=True, timeout=60)
        assert skipped.returncode == 0 and "still running: this run is skipped" in skipped.stdout
        again = subprocess.run([str(script), str(sites), *fast], cwd=tmp_path, env=env,
                               capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "nothing new" in again.stdout
    missing = subprocess.run([str(script), str(tmp_path / "nope.txt")], cwd=tmp_path, env=env,
                             capture_output=True, text=True, timeout=30)
    assert missing.returncode == 2 and "no such file" in missing.stderr
