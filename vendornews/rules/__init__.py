"""Cleaning rules loaded from TOML data files.

The bundled ``default.toml`` is always loaded; files named in the ``VENDORNEWS_RULES``
environment variable (joined with ``os.pathsep``) add rules of their own.
"""

from __future__ import annotations

import os
import re
import tomllib
import unicodedata
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources
from pathlib import Path
from typing import Literal

from vendornews.hant import fold

RuleKind = Literal["spam", "boilerplate", "title_tag"]
KINDS: tuple[RuleKind, ...] = ("spam", "boilerplate", "title_tag")


@dataclass(frozen=True)
class Rule:
    id: str
    kind: RuleKind
    pattern: re.Pattern[str]
    max_len: int
    description: str
    match: tuple[str, ...]
    keep: tuple[str, ...]

    def applies(self, line: str) -> bool:
        return len(line) <= self.max_len and self.pattern.search(line) is not None


_PRIVATE_USE = re.compile("[\ue000-\uf8ff\u200b-\u200d\ufeff]")


def normalize(text: str) -> str:
    """Runs of whitespace (ideographic and no-break spaces too) collapsed to one space;
    icon-font glyphs (private use area) and zero-width characters removed."""
    return " ".join(_PRIVATE_USE.sub("", text).split())


@lru_cache(maxsize=8192)
def folded(text: str) -> str:
    """The form rules match against: NFKC, so full-width colons and digits are ASCII, and
    Traditional characters written Simplified (:func:`vendornews.hant.fold`).

    Cached: each line is tested by several rule kinds in turn."""
    return fold(unicodedata.normalize("NFKC", text))


def _parse(data: dict[str, object], origin: str) -> list[Rule]:
    raw_rules = data.get("rule", [])
    if not isinstance(raw_rules, list):
        raise ValueError(f"{origin}: 'rule' must be an array of tables")
    rules = []
    for raw in raw_rules:
        kind = raw.get("kind")
        if kind not in KINDS:
            raise ValueError(f"{origin}: rule {raw.get('id')!r} has unknown kind {kind!r}")
        rules.append(
            Rule(
                id=str(raw["id"]),
                kind=kind,
                pattern=re.compile(raw["pattern"]),
                max_len=int(raw.get("max_len", 200)),
                description=str(raw.get("description", "")),
                match=tuple(raw.get("match", ())),
                keep=tuple(raw.get("keep", ())),
            )
        )
    return rules


def load_rules(extra_files: tuple[str, ...] = ()) -> tuple[Rule, ...]:
    """The bundled rules plus those in ``extra_files``."""
    text = resources.files(__package__).joinpath("default.toml").read_text(encoding="utf-8")
    rules = _parse(tomllib.loads(text), "default.toml")
    for name in extra_files:
        with Path(name).open("rb") as handle:
            rules.extend(_parse(tomllib.load(handle), name))
    return tuple(rules)


@cache
def active_rules() -> tuple[Rule, ...]:
    """Rules in force for this process (bundled + ``VENDORNEWS_RULES``), loaded once."""
    extra = os.environ.get("VENDORNEWS_RULES", "")
    return load_rules(tuple(p for p in extra.split(os.pathsep) if p))


def first_match(line: str, kinds: tuple[RuleKind, ...]) -> Rule | None:
    """The first active rule of one of ``kinds`` that applies to ``line``."""
    line = folded(line)
    for rule in active_rules():
        if rule.kind in kinds and rule.applies(line):
            return rule
    return None
