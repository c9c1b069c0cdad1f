"""Company-name normalisation: regions, legal forms, branches, width, traditional characters."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kamguard.customers.domain.normalise import (
    LEGAL_FORMS,
    english_key_tokens,
    normalise_company_name,
    normalise_english_name,
)
from kamguard.customers.domain.regions import match_region_prefix, region_of, regions_conflict

# The project's shared datasets sit beside the repository (../shared/datasets), as in CI.
BRANDS = Path(__file__).resolve().parents[5].parent / "shared" / "datasets" / "company_name_brand_groundtruth.txt"


@pytest.mark.parametrize("name", [
    "北京中科金财科技股份有限公司",
    "中科金财科技（北京）股份有限公司",
    "中科金财科技(北京)股份有限公司",
    "中科金财科技【北京】股份有限公司",
    "北京市中科金财科技有限公司",
    "中科金财科技有限责任公司",
    "中科金財科技股份有限公司",
    "中科金财 科技 股份 有限公司",
    "中科金财",
])
def test_region_and_legal_form_variants_share_the_core(name: str) -> None:
    assert normalise_company_name(name).core == "中科金财"


@pytest.mark.parametrize(("name", "region"), [
    ("北京中科金财科技股份有限公司", "北京"),
    ("中科金财科技（北京）股份有限公司", "北京"),
    ("中科金财科技(北京)股份有限公司", "北京"),
    ("广东省深圳市万科企业股份有限公司", "深圳"),  # the most specific of nested regions
    ("中科金财科技股份有限公司", None),
])
def test_region_is_found(name: str, region: str | None) -> None:
    assert normalise_company_name(name).region == region


def test_short_name_equals_core_of_full_name() -> None:
    short, full = normalise_company_name("平安银行"), normalise_company_name("平安银行股份有限公司")
    assert short.core == full.core == "平安银行"
    assert full.legal_form == "股份有限公司"
    assert short.legal_form is None


@pytest.mark.parametrize("suffix", ["有限公司", "股份有限公司", "有限责任公司", "集团有限公司", "集团股份有限公司",
                                    "控股有限公司", "科技有限公司", "股份公司", "公司"])
def test_legal_form_and_generic_suffixes_are_stripped(suffix: str) -> None:
    name = normalise_company_name("上海明睿" + suffix)
    assert name.core == "明睿"
    assert name.region == "上海"


def test_generic_words_are_kept_apart() -> None:
    name = normalise_company_name("宏润建设集团股份有限公司")
    assert name.generic == ("集团",)
    assert name.core == "宏润建设"
    assert name.brand == "宏润"


@pytest.mark.parametrize(("name", "branch"), [
    ("中国平安财产保险股份有限公司北京分公司", "北京分公司"),
    ("平安银行股份有限公司深圳分行", "深圳分行"),
    ("华为技术有限公司上海办事处", "上海办事处"),
])
def test_branches_are_split_off(name: str, branch: str) -> None:
    normalised = normalise_company_name(name)
    assert normalised.is_branch
    assert normalised.branch == branch
    head = normalise_company_name(name.removesuffix(branch))
    assert normalised.core == head.core
    assert not head.is_branch


def test_traditional_characters_are_simplified() -> None:
    assert normalise_company_name("平安銀行股份有限公司").core == "平安银行"
    assert normalise_company_name("萬科企業股份有限公司").core == normalise_company_name("万科企业股份有限公司").core


def test_full_width_letters_digits_and_punctuation_are_folded() -> None:
    name = normalise_company_name("ＴＣＬ　科技·集团（惠州）股份有限公司！")
    assert name.core == "tcl"
    assert name.region == "惠州"
    assert normalise_company_name("３６０安全科技股份有限公司").core == "360安全"


def test_region_that_is_the_brand_is_kept() -> None:
    # Stripping 重庆 / 上海 would leave only an industry word.
    assert normalise_company_name("重庆水务集团股份有限公司").core == "重庆水务"
    assert normalise_company_name("上海银行股份有限公司").core == "上海银行"


def test_stock_markers_are_dropped() -> None:
    assert normalise_company_name("*ST乐通").core == "乐通"
    assert normalise_company_name("万科A").core == "万科"


def test_english_names() -> None:
    assert normalise_english_name("Ping An Bank Co., Ltd.") == ("ping", "an", "bank")
    assert normalise_english_name("PING AN BANK COMPANY LIMITED") == ("ping", "an", "bank")
    tokens = normalise_english_name("Shenzhen GuoHua Network Security Technology Co., Ltd.")
    assert english_key_tokens(tokens) == ("guohua", "network", "security")


def test_regions() -> None:
    beijing, shanghai = region_of("北京"), region_of("上海市")
    guangdong, shenzhen = region_of("广东"), region_of("深圳")
    assert beijing is not None and beijing.level == "province"
    assert regions_conflict(beijing, shanghai)
    assert not regions_conflict(guangdong, shenzhen)
    assert not regions_conflict(beijing, None)
    assert match_region_prefix("广西壮族自治区南宁市某某") == "广西壮族自治区"
    assert region_of("朝阳") is not None and region_of("朝阳").level == "city"  # type: ignore[union-attr]
    assert match_region_prefix("新华制药") is None  # 新华区 has no short form


@pytest.mark.skipif(not BRANDS.exists(), reason="ground-truth file not available")
def test_brand_extraction_against_ground_truth() -> None:
    total = correct = 0
    for line in BRANDS.read_text(encoding="utf-8").splitlines():
        parts = re.split(r"[\t ]+", line.strip())
        if len(parts) < 2:
            continue
        total += 1
        correct += normalise_company_name(parts[0]).brand == parts[1]
    # 0.85 when written; guard against regressions.
    assert correct / total >= 0.80, f"brand accuracy {correct}/{total}"


cjk = st.characters(min_codepoint=0x4E00, max_codepoint=0x9FA5)
names = st.text(alphabet=st.one_of(cjk, st.sampled_from("（）() ·-ＡＢａb12")), min_size=1, max_size=16)


@settings(max_examples=300, deadline=None)
@given(names)
def test_normalisation_is_idempotent(name: str) -> None:
    once = normalise_company_name(name)
    twice = normalise_company_name(once.full)
    assert twice.full == once.full


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=cjk, min_size=2, max_size=8), st.sampled_from(LEGAL_FORMS))
def test_adding_a_legal_form_never_changes_the_core(body: str, form: str) -> None:
    bare = normalise_company_name(body)
    # The property holds for names that do not themselves end in a legal, shop or generic word.
    if bare.legal_form is None and not bare.generic and bare.full == bare.stem:
        assert normalise_company_name(body + form).core == bare.core
