"""The plain-text page form (a page saved as text, one block per line) as HTML.

A dump has no tags, so its structure is rebuilt from its lines: the line just above the
first publish-time line is the headline (``<h1>``), lines above it are the page header,
and the rest is the article region. The result goes through the same extraction as any
HTML page.
"""

from __future__ import annotations

from html import escape

from vendornews.dates import PUBLISH_LABEL, parse_dates


def dump_to_html(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    byline = next(
        (
            i
            for i, line in enumerate(lines)
            if len(line) <= 150 and PUBLISH_LABEL.search(line) and parse_dates(line)
        ),
        None,
    )
    head = [] if byline is None or byline == 0 else lines[: byline - 1]
    h1 = "" if byline is None or byline == 0 else lines[byline - 1]
    rest = lines if byline is None else lines[byline:]
    paragraphs = "\n".join(f"<p>{escape(line)}</p>" for line in rest)
    header = "".join(f"<p>{escape(line)}</p>" for line in head)
    return (
        "<html><head><meta charset='utf-8'></head><body>"
        f"<header>{header}</header><h1>{escape(h1)}</h1>"
        f"<div class='article'>{paragraphs}</div></body></html>"
    )
