"""The ``vendornews`` command, run as a user runs it: a subprocess, real files, exit codes.

Each run loads jieba's dictionary (a second or two), so the runs that extract are started
together, once per module (``batch``), and the tests read their results.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from terminal import run_on_terminal

FIXTURES = Path(__file__).parent / "fixtures"
SEED = FIXTURES / "seed_page"
SEED_HTML = SEED / "page.html"
SEED_DUMP = SEED / "vendor_page_dump.txt"
SEED_URL = "http://jiaoxianji.example/jishu/18871.html"
HOSPITAL = FIXTURES / "pages" / "hospital_news.html"
TEMPLATE_SITE = FIXTURES / "template_site"
GOLD_FIELDS = ("title", "published", "source", "author", "body")


def _command(args: tuple[str | Path, ...]) -> list[str]:
    return [sys.executable, "-m", "vendornews.cli", *map(str, args)]


def run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(_command(args), capture_output=True, text=True, timeout=120,
                          check=False)


def run_all(commands: dict[str, tuple[str | Path, ...]]) -> Batch:
    """Run the commands side by side; their results by name."""
    started = {
        name: subprocess.Popen(_command(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
        for name, args in commands.items()
    }
    done = {}
    for name, process in started.items():
        out, err = process.communicate(timeout=300)
        done[name] = subprocess.CompletedProcess(process.args, process.returncode, out, err)
    return done


def records(done: subprocess.CompletedProcess[str]) -> list[dict[str, Any]]:
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    return [json.loads(line) for line in done.stdout.splitlines()]


Batch = dict[str, subprocess.CompletedProcess[str]]


@pytest.fixture(scope="module")
def gold() -> dict[str, Any]:
    record: dict[str, Any] = json.loads((SEED / "gold.jsonl").read_text(encoding="utf-8"))
    return record


def assert_one_line_error(done: subprocess.CompletedProcess[str], message: str) -> None:
    assert done.returncode != 0
    assert done.stdout == ""
    assert "Traceback" not in done.stderr
    assert done.stderr.splitlines() == [f"vendornews: {message}"]


def assert_usage_error(done: subprocess.CompletedProcess[str], message: str) -> None:
    """A bad command line: exit status 2 and exactly one line on stderr, never a traceback."""
    assert done.returncode == 2
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("vendornews") and message in lines[0]


BIG5_TITLE = "臺灣颱風季節提前來臨 氣象單位呼籲民眾做好準備"
BIG5_PARAGRAPHS = [
    "中央氣象署今天表示，今年第一個颱風可能在週末前後接近臺灣東部海面，各地民眾應提前做好防颱準備。",
    "氣象專家指出，受到海水溫度偏高影響，今年颱風生成的時間比往年提早約兩週，強度也可能較強。",
    "各縣市政府已經開始檢查排水系統與防洪設施，並呼籲山區民眾注意土石流警戒。",
]
PROMO = "本公司长期供应优质绞线设备欢迎来电洽谈"


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Page files for the options: an undeclared Big5 page, an empty file."""
    folder = tmp_path_factory.mktemp("cli-inputs")
    files = {
        # A Big5 page that declares nothing: detection alone takes it for GB18030.
        "big5": folder / "big5.html",
        "empty": folder / "empty.html",
    }
    body = "".join(f"<p>{p}</p>" for p in BIG5_PARAGRAPHS)
    files["big5"].write_bytes(
        (f"<html><head><title>{BIG5_TITLE}</title></head><body><h1>{BIG5_TITLE}</h1>"
         f"<div class='article'>{body}</div></body></html>").encode("big5"))
    files["empty"].write_bytes(b"")
    return files


@pytest.fixture(scope="module")
def batch(inputs: dict[str, Path]) -> Batch:
    return run_all({
        "seed_url": ("extract", SEED_HTML, "--url", SEED_URL),
        "dump_and_page": ("extract", SEED_DUMP, HOSPITAL),
        "encoding_big5": ("extract", "--encoding", "big5", inputs["big5"], inputs["empty"]),
        "learn_template": ("extract", "--learn-template",
                           *sorted(TEMPLATE_SITE.glob("news_*.html"))),
        "explain": ("explain", SEED_HTML, "--url", SEED_URL),
    })


# ---------------------------------------------------------------------------------------
# extract
# ---------------------------------------------------------------------------------------


def test_extract_seed_html_with_url(batch: Batch, gold: dict[str, Any]) -> None:
    (record,) = records(batch["seed_url"])
    assert record["url"] == SEED_URL
    assert record["site"] == "jiaoxianji.example"
    for name in GOLD_FIELDS:
        assert record[name] == gold[name], name
    assert record["pages"] == 1
    assert record["lang"] == "zh"
    spam = [r for r in record["removed"] if r["rule"] == "spam.medical-ad"]
    assert sorted(r["text"] for r in spam) == sorted(gold["spam"])


def test_extract_text_dump_and_a_page_give_two_json_lines(
    batch: Batch, gold: dict[str, Any]
) -> None:
    done = batch["dump_and_page"]
    assert len(done.stdout.splitlines()) == 2
    dump, page = records(done)
    assert dump["url"] == SEED_DUMP.resolve().as_uri()
    for name in GOLD_FIELDS:
        assert dump[name] == gold[name], name
    for text in gold["spam"] + gold["noise"]:
        assert text not in dump["body"]
    assert page["url"] == HOSPITAL.resolve().as_uri()
    assert page["title"] == "县人民医院专家团队走进山区开展义诊"


def test_extract_encoding_option_reads_undeclared_big5(
    batch: Batch, inputs: dict[str, Path]
) -> None:
    """Detection alone would take these Big5 bytes for GB18030; ``--encoding big5`` reads them."""
    big5, empty = records(batch["encoding_big5"])
    assert big5["title"] == BIG5_TITLE
    assert big5["body"].split("\n") == BIG5_PARAGRAPHS
    # An empty file is no article: a JSON line says so, the run goes on.
    assert empty == {"url": inputs["empty"].resolve().as_uri(), "not_article": "no-body"}


def test_extract_learn_template_drops_a_promo_line_repeated_across_files(batch: Batch) -> None:
    learned = records(batch["learn_template"])
    assert len(learned) == 4
    for record in learned:
        assert PROMO not in record["body"]
        assert {"rule": "template.repeated", "text": PROMO} in record["removed"]


# ---------------------------------------------------------------------------------------
# explain
# ---------------------------------------------------------------------------------------


def test_explain_seed_shows_the_spam_drops(batch: Batch, gold: dict[str, Any]) -> None:
    done = batch["explain"]
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "# encoding: gb18030"
    drops = [line for line in lines if line.startswith("DROP  spam.medical-ad")]
    assert drops == [f"DROP  {'spam.medical-ad':28}  {text}" for text in gold["spam"]]
    assert f"DROP  {'title.body-opening':28}  {gold['title']}" in lines
    assert lines[-4:] == [f"# title: {gold['title']}", f"# published: {gold['published']}",
                          f"# source: {gold['source']}", "# author: None"]
    # KEEP lines: exactly the body; the headline shows once, as the title step's DROP.
    kept = [line[36:] for line in lines if line.startswith("KEEP")]
    assert kept == [line[:100] for line in gold["body"].split("\n")]
    assert not any("structure.outside-main" in line for line in lines)


# ---------------------------------------------------------------------------------------
# errors: one line on stderr, non-zero exit, no traceback
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["extract", "explain"])
def test_missing_file(command: str, tmp_path: Path) -> None:
    missing = tmp_path / "nope.html"
    assert_one_line_error(run(command, missing), f"{missing}: no such file")


@pytest.mark.parametrize("command", ["extract", "explain"])
def test_directory(command: str, tmp_path: Path) -> None:
    assert_one_line_error(run(command, tmp_path), f"{tmp_path}: is a directory, give page files")


@pytest.mark.parametrize(
    ("command", "name"),
    [("extract", "image.png"), ("extract", "image.html"), ("extract", "image.txt"),
     ("explain", "image.png")],
)
def test_binary_data(command: str, name: str, tmp_path: Path) -> None:
    path = tmp_path / name
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10\x00\x00\x00\x10\x08\x06")
    assert_one_line_error(run(command, path),
                          f"{path}: binary data, not an HTML page or text dump")


def test_one_bad_file_among_good_ones_fails_before_any_output(tmp_path: Path) -> None:
    missing = tmp_path / "nope.html"
    assert_one_line_error(run("extract", SEED_HTML, missing), f"{missing}: no such file")


def test_url_with_two_files() -> None:
    done = run("extract", "--url", SEED_URL, SEED_HTML, HOSPITAL)
    assert_one_line_error(done, "--url names one page: give one FILE with it")


def test_no_arguments() -> None:
    assert_usage_error(run(), "the following arguments are required: command")


def test_bad_subcommand() -> None:
    assert_usage_error(run("frobnicate"), "invalid choice: 'frobnicate'")


def test_extract_without_files() -> None:
    assert_usage_error(run("extract"), "the following arguments are required: FILE")


def test_unknown_option() -> None:
    assert_usage_error(run("extract", "--bogus", SEED_HTML), "unrecognized arguments: --bogus")


def test_extract_shows_progress_on_a_terminal_only() -> None:
    """Many files: a progress bar on a terminal's stderr; nothing on stderr in a pipe."""
    files = [str(SEED_HTML), str(SEED_DUMP)]
    piped = run("extract", *files)
    assert piped.returncode == 0 and piped.stderr == ""
    done, shown = run_on_terminal([sys.executable, "-m", "vendornews.cli", "extract", *files])
    assert done.returncode == 0
    assert len(done.stdout.splitlines()) == 2
    assert b"2/2" in shown and b"page" in shown
