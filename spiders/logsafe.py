"""Secrets out of the log: a filter that masks them in every record a log handler writes.

Scrapy logs its overridden settings at start ("Overridden settings:", ``-s FTP_PASSWORD=…``
included) and request URLs all along (``http://user:password@host/`` included). The filter
rewrites a record's message with the value of any upper-case setting name containing PASS,
SECRET, TOKEN, _KEY or AUTH, and any URL password, replaced by ``***``.
"""

from __future__ import annotations

import logging
import re

MASK = "***"
_SETTING = re.compile(r"""(?P<key>\b[A-Z0-9_]*(?:PASS|SECRET|TOKEN|_KEY|AUTH)[A-Z0-9_]*\b"""
                      r"""['"]?\s*[:=]\s*)(?:(?P<quote>['"]).*?(?P=quote)|[^\s,}]+)""")
_URL_PASSWORD = re.compile(r"(\b[a-zA-Z][\w+.-]*://[^/\s:@]*:)[^/\s@]+@")


def _masked_setting(match: re.Match[str]) -> str:
    quote = match["quote"] or ""
    return f"{match['key']}{quote}{MASK}{quote}"


def mask(text: str) -> str:
    """``text`` with setting values and URL passwords that look secret replaced by ``***``."""
    return _SETTING.sub(_masked_setting, _URL_PASSWORD.sub(rf"\g<1>{MASK}@", text))


class SecretsFilter(logging.Filter):
    """Rewrites (never drops) records whose message holds a secret."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format: logging reports it when the record is emitted
            return True
        masked = mask(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True


def install() -> None:
    """Put the filter on every handler of the root logger (Scrapy's among them): it then sees
    the records of every logger, whichever prints a setting or a URL. Idempotent."""
    for handler in logging.root.handlers:
        if not any(isinstance(f, SecretsFilter) for f in handler.filters):
            handler.addFilter(SecretsFilter())
