"""Bytes + headers -> text.

w3lib reads the BOM, the HTTP header and ``<meta charset>`` (and maps GB2312/GBK to
GB18030). Vendor sites lie about their charset often enough that a declaration is
only a hint: a body that is valid multi-byte UTF-8 is UTF-8 whatever it says, and a
declared charset that does not decode cleanly gives way to one that does.
"""

from __future__ import annotations

import codecs

from charset_normalizer import from_bytes
from w3lib.encoding import html_body_declared_encoding, html_to_unicode, resolve_encoding

# Tried in order when the declared charset fails or nothing is declared.
_FALLBACKS = ("utf-8", "gb18030", "big5")
# Codecs whose characters take more than one byte: a body they decode cleanly is no accident.
_MULTI_BYTE = frozenset(
    (
        "utf-8",
        "gb18030",
        "gbk",
        "gb2312",
        "big5",
        "big5hkscs",
        "cp950",
        "cp936",
        "shift_jis",
        "cp932",
        "euc_jp",
        "euc_kr",
        "cp949",
        "utf-16",
        "utf-32",
        "hz",
        "iso2022_jp",
        "iso2022_kr",
    )
)


def _strict(body: bytes, encoding: str) -> str | None:
    try:
        return body.decode(encoding)
    except (UnicodeError, LookupError):  # "undefined" and non-text codecs raise UnicodeError
        return None


def _is_multibyte_utf8(body: bytes) -> bool:
    return not body.isascii() and _strict(body, "utf-8") is not None


def _replacements(body: bytes, encoding: str) -> int:
    return body.decode(encoding, "replace").count("\ufffd")


def _detect(body: bytes) -> str | None:
    """A charset for an undeclared (or wrongly declared) body.

    The first of utf-8, gb18030, big5 that decodes it cleanly; else the candidate (those,
    plus charset_normalizer's guess) that leaves the fewest U+FFFD: one damaged character
    must not turn a whole GBK page into UTF-8 garbage.
    """
    for encoding in _FALLBACKS:
        if _strict(body, encoding) is not None:
            return encoding
    guess = from_bytes(body[:200_000]).best()
    candidates = [*_FALLBACKS, *([guess.encoding] if guess else [])]
    return min(candidates, key=lambda name: _replacements(body, name))


def _is_single_byte(encoding: str) -> bool:
    try:
        name = codecs.lookup(encoding).name
    except LookupError:
        return False
    return name not in _MULTI_BYTE


def decode_html(
    body: bytes, content_type: str | None = None, encoding: str | None = None
) -> tuple[str, str]:
    """Return ``(text, encoding)`` for an HTML body.

    ``encoding`` (e.g. from ``--encoding``) plays the role of the header's charset. A
    declaration is a hint: a BOM wins; valid multi-byte UTF-8 is UTF-8; a Western
    single-byte label on a body that decodes cleanly as a Chinese charset (servers default
    to ISO-8859-1) gives way; a label that leaves U+FFFD gives way to one that does not.
    """
    if encoding:
        content_type = f"text/html; charset={encoding}"
    if body.startswith((codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        name, text = html_to_unicode(None, body)
        return text, name
    if _is_multibyte_utf8(body):
        return body.decode("utf-8"), "utf-8"
    try:
        name, text = html_to_unicode(content_type, body, auto_detect_fun=_detect)
    except (LookupError, UnicodeError):
        # The page declares a codec that is no text encoding (zlib, base64, punycode…).
        name = _detect(body) or "utf-8"
        return body.decode(name, "replace"), name
    mislabeled = not body.isascii() and _is_single_byte(name)
    if mislabeled or ("\ufffd" in text and "\ufffd".encode() not in body):
        declared = html_body_declared_encoding(body)
        for candidate in (declared, *_FALLBACKS):
            resolved = resolve_encoding(candidate) if candidate else None
            if not resolved or (mislabeled and _is_single_byte(resolved)):
                continue
            if (decoded := _strict(body, resolved)) is not None:
                return decoded, resolved
        if not mislabeled:
            detected = _detect(body) or "utf-8"
            return body.decode(detected, "replace"), detected
    return text, name
