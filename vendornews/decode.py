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


def _strict(body: bytes, encoding: str) -> str | None:
    try:
        return body.decode(encoding)
    except (UnicodeDecodeError, LookupError):
        return None


def _is_multibyte_utf8(body: bytes) -> bool:
    return not body.isascii() and _strict(body, "utf-8") is not None


def _detect(body: bytes) -> str | None:
    for encoding in _FALLBACKS:
        if _strict(body, encoding) is not None:
            return encoding
    best = from_bytes(body[:200_000]).best()
    return best.encoding if best else None


def decode_html(
    body: bytes, content_type: str | None = None, encoding: str | None = None
) -> tuple[str, str]:
    """Return ``(text, encoding)`` for an HTML body.

    ``encoding`` (e.g. from ``--encoding``) plays the role of the header's charset.
    A page that decodes cleanly in some charset yields no U+FFFD.
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
    if "\ufffd" in text and "\ufffd".encode() not in body:
        for candidate in (
            html_body_declared_encoding(body),
            *_FALLBACKS,
        ):
            resolved = resolve_encoding(candidate) if candidate else None
            if resolved and (decoded := _strict(body, resolved)) is not None:
                return decoded, resolved
        detected = _detect(body)
        if detected:
            return body.decode(detected, "replace"), detected
    return text, name
