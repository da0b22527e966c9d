"""The cleaning rules as data: every bundled rule against its own examples, user rule files,
and a real-looking page where hospital news stays while hospital ads go.

Each rule in ``vendornews/rules/default.toml`` carries ``match`` examples (lines it must catch)
and ``keep`` examples (lines no spam or boilerplate rule may touch). The cases are collected
from the rules file itself, one test case per rule, so a new rule is tested the moment it is
added.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from vendornews import extract
from vendornews.record import Record, Removal
from vendornews.rules import KINDS, Rule, active_rules, first_match, folded, load_rules

FIXTURES = Path(__file__).parent / "fixtures" / "pages"
HOSPITAL_URL = "http://hengtong-valve.example/news/1022.html"
BUNDLED = load_rules()
CLEANING = tuple(rule for rule in BUNDLED if rule.kind in ("spam", "boilerplate"))

# keep examples that a rule currently removes: none today. A case listed here as
# {(rule id, text): reason} runs as a non-strict xfail until the rule data is fixed.
KNOWN_KEEP_FAILURES: dict[tuple[str, str], str] = {}


def _hospital_record() -> Record:
    record = extract((FIXTURES / "hospital_news.html").read_bytes(), HOSPITAL_URL,
                     crawled_at="2024-01-01T00:00:00")
    assert isinstance(record, Record)
    return record


@pytest.fixture
def fresh_rules() -> Iterator[None]:
    """``active_rules`` is cached per process: clear it around tests that change the env."""
    active_rules.cache_clear()
    yield
    active_rules.cache_clear()


def _keep_cases() -> list[Any]:
    cases: list[Any] = []
    for rule in BUNDLED:
        for index, text in enumerate(rule.keep):
            marks = []
            if reason := KNOWN_KEEP_FAILURES.get((rule.id, text)):
                marks.append(pytest.mark.xfail(reason=reason, strict=False))
            cases.append(pytest.param(rule, text, id=f"{rule.id}-keep{index}", marks=marks))
    return cases


def test_bundled_rules_load_with_unique_ids_and_known_kinds() -> None:
    ids = [rule.id for rule in BUNDLED]
    assert len(ids) == len(set(ids))
    assert {rule.kind for rule in BUNDLED} <= set(KINDS)
    assert "spam.medical-ad" in ids


@pytest.mark.parametrize("rule", BUNDLED, ids=lambda rule: rule.id)
def test_rule_catches_each_match_example(rule: Rule) -> None:
    assert rule.match, f"{rule.id} has no match examples"
    missed = [text for text in rule.match if not rule.applies(folded(text))]
    assert missed == []


@pytest.mark.parametrize(("rule", "text"), _keep_cases())
def test_keep_example_survives_every_cleaning_rule(rule: Rule, text: str) -> None:
    hits = [other.id for other in CLEANING if other.applies(folded(text))]
    assert hits == []


def test_rules_match_the_folded_line() -> None:
    # Full-width colon and digits fold to ASCII before matching (NFKC).
    hotline = next(rule for rule in BUNDLED if rule.id == "boilerplate.hotline")
    line = "电话：０１０－５４０９１０９５"
    assert folded(line) == "电话:010-54091095"
    assert hotline.applies(folded(line))


def test_first_match_folds_and_respects_kinds(fresh_rules: None) -> None:
    rule = first_match("浏览次数：１０２４", ("boilerplate",))
    assert rule is not None and rule.id == "boilerplate.counter"
    assert first_match("浏览次数：１０２４", ("spam",)) is None
    rule = first_match("看白癜风的医院排名03491", ("spam", "boilerplate"))
    assert rule is not None and rule.id == "spam.medical-ad"


def test_max_len_lets_long_paragraphs_through() -> None:
    ad = next(rule for rule in BUNDLED if rule.id == "spam.medical-ad")
    assert ad.applies("济南治疗妇科医院哪家好")
    long_line = "济南治疗妇科医院哪家好" + "这是一段很长的正文" * 4
    assert len(long_line) > ad.max_len
    assert not ad.applies(long_line)


@pytest.mark.parametrize(
    "line",
    [
        "6月10日，县人民医院组织心内科、骨科、眼科等12个科室的专家，来到岩坦镇溪口村开展义诊。",
        "图为医院眼科医生为村民检查视力。",
        "县人民医院",
        "据了解，今年以来县人民医院已组织专家下乡义诊15次。",
    ],
)
def test_hospital_news_lines_are_not_spam(line: str, fresh_rules: None) -> None:
    assert first_match(line, ("spam", "boilerplate")) is None


def test_user_rules_file_adds_a_rule(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_rules: None
) -> None:
    promo = "本厂常年收购废旧电缆价格从优"
    assert first_match(promo, ("spam",)) is None
    user = tmp_path / "my_rules.toml"
    user.write_text(
        "[[rule]]\n"
        'id = "spam.cable-buyer"\n'
        'kind = "spam"\n'
        'pattern = "收购废旧电缆"\n'
        "max_len = 30\n"
        f'match = ["{promo}"]\n',
        encoding="utf-8",
    )
    monkeypatch.setenv("VENDORNEWS_RULES", str(user))
    active_rules.cache_clear()
    rules = active_rules()
    assert [rule.id for rule in rules[: len(BUNDLED)]] == [rule.id for rule in BUNDLED]
    assert rules[-1].id == "spam.cable-buyer"
    assert rules[-1].max_len == 30
    rule = first_match(promo, ("spam",))
    assert rule is not None and rule.id == "spam.cable-buyer"
    # Bundled rules still apply alongside.
    rule = first_match("治疗人流医院哪家好", ("spam",))
    assert rule is not None and rule.id == "spam.medical-ad"


def test_user_rule_drops_a_line_from_a_page(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_rules: None
) -> None:
    caption = "图为医院眼科医生为村民检查视力。"
    user = tmp_path / "captions.toml"
    user.write_text(
        '[[rule]]\nid = "boilerplate.photo-caption"\nkind = "boilerplate"\n'
        "pattern = '^图为'\nmax_len = 40\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("VENDORNEWS_RULES", str(user))
    active_rules.cache_clear()
    record = _hospital_record()
    assert caption not in record.body.split("\n")
    assert Removal("boilerplate.photo-caption", caption) in record.removed


def test_several_user_files_joined_with_pathsep(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_rules: None
) -> None:
    paths = []
    for name in ("a", "b"):
        path = tmp_path / f"{name}.toml"
        path.write_text(
            f'[[rule]]\nid = "spam.{name}"\nkind = "spam"\npattern = "^{name * 3}$"\n',
            encoding="utf-8",
        )
        paths.append(str(path))
    monkeypatch.setenv("VENDORNEWS_RULES", os.pathsep.join(paths))
    active_rules.cache_clear()
    assert [rule.id for rule in active_rules()[-2:]] == ["spam.a", "spam.b"]
    rule = first_match("bbb", ("spam",))
    assert rule is not None and rule.id == "spam.b"


def test_unknown_rule_kind_raises_value_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[[rule]]\nid = "x.advert"\nkind = "advert"\npattern = "广告"\n',
                   encoding="utf-8")
    with pytest.raises(ValueError, match="unknown kind 'advert'"):
        load_rules((str(bad),))


def test_unknown_rule_kind_in_env_file_raises_value_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_rules: None
) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[[rule]]\nid = "x.nokind"\npattern = "广告"\n', encoding="utf-8")
    monkeypatch.setenv("VENDORNEWS_RULES", str(bad))
    active_rules.cache_clear()
    with pytest.raises(ValueError, match="unknown kind None"):
        active_rules()


def test_rule_table_that_is_not_an_array_raises_value_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[rule]\nid = "x"\nkind = "spam"\npattern = "x"\n', encoding="utf-8")
    with pytest.raises(ValueError, match="must be an array of tables"):
        load_rules((str(bad),))


# ---------------------------------------------------------------------------------------
# A whole page: hospital news kept, hospital ad anchors dropped
# ---------------------------------------------------------------------------------------
HOSPITAL_BODY = [
    "6月10日，县人民医院组织心内科、骨科、眼科等12个科室的专家，来到海拔800多米的岩坦镇溪口村"
    "开展义诊，为当地200多名群众送去健康服务。",
    "义诊现场，专家们为村民测量血压、血糖，耐心解答群众提出的健康问题，并向老人们讲解高血压、"
    "糖尿病等慢性病的日常防治知识。",
    "“以前看病要坐两个小时的车去县城，现在医院的专家直接送上门，真是方便多了。”74岁的村民李大伯"
    "在做完检查后说。",
    "据了解，今年以来县人民医院已组织专家下乡义诊15次，免费发放药品价值6万余元，接下来还将与乡镇"
    "卫生院建立远程会诊机制。",
    "图为医院眼科医生为村民检查视力。",
]


def test_hospital_news_kept_and_hospital_ads_removed(fresh_rules: None) -> None:
    record = _hospital_record()
    assert record.title == "县人民医院专家团队走进山区开展义诊"
    assert record.body.split("\n") == HOSPITAL_BODY
    assert record.published == "2023-06-12T09:30"
    assert record.source == "永嘉日报"
    assert record.author == "陈晓东"
    assert record.removed == [
        Removal("spam.medical-ad", "温州治疗白癜风的医院排名"),
        Removal("spam.medical-ad", "温州男科医院哪家好"),
        Removal("spam.medical-ad", "永嘉协和妇科医院地址电话"),
        Removal("spam.medical-ad-word", "治疗牛皮癣"),
    ]
