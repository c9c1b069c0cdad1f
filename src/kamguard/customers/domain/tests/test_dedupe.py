"""Exact keys, blocking keys, scoring, verdicts, the in-memory index and the scan."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kamguard.customers.domain.dedupe import (
    DUPLICATE_THRESHOLD,
    POSSIBLE_THRESHOLD,
    CandidateIndex,
    CustomerRecord,
    Match,
    blocking_keys,
    customer_profile,
    dedupe_check,
    dedupe_scan,
    score,
    verdict,
)
from kamguard.customers.domain.keys import company_mail_domain, normalise_phone, normalise_uscc

USCC_PING_AN = "91440300192185379H"
USCC_OTHER = "91110000600037341L"


def profile(name: str, external_id: str = "", **fields: object):  # type: ignore[no-untyped-def]
    return customer_profile(CustomerRecord(external_id=external_id, name=name, **fields))  # type: ignore[arg-type]


# --- exact keys -------------------------------------------------------------------------------

def test_uscc_is_validated_and_compacted() -> None:
    assert normalise_uscc("9144 0300 1921 8537 9h") == USCC_PING_AN
    assert normalise_uscc("91440300192185379X") is None  # wrong check character
    assert normalise_uscc("") is None
    assert normalise_uscc(None) is None


@pytest.mark.parametrize(("raw", "e164"), [
    ("138 0013 8000", "+8613800138000"),
    ("+86 138-0013-8000", "+8613800138000"),
    ("０１０－８８８８６６６６", "+861088886666"),
    ("(021) 6888 8888", "+862168888888"),
])
def test_phone_to_e164(raw: str, e164: str) -> None:
    assert normalise_phone(raw) == e164


def test_invalid_phone_is_no_key() -> None:
    assert normalise_phone("12345") is None
    assert normalise_phone("not a phone") is None


@pytest.mark.parametrize(("raw", "domain"), [
    ("zhang.san@PingAn.com.cn", "pingan.com.cn"),
    ("li@mail.pingan.com", "pingan.com"),
    ("https://www.pingan.com/about", "pingan.com"),
    ("someone@qq.com", None),
    ("someone@163.com", None),
    ("someone@gmail.com", None),
    ("not an address", None),
])
def test_company_mail_domain(raw: str, domain: str | None) -> None:
    assert company_mail_domain(raw) == domain


# --- scoring and verdicts ----------------------------------------------------------------------

def test_same_uscc_is_a_duplicate_whatever_the_name() -> None:
    match = score(profile("平安银行", uscc=USCC_PING_AN), profile("完全不同的名字", "1", uscc=USCC_PING_AN))
    assert match.score == 1.0
    assert match.reasons[0] == "same USCC"


def test_different_usccs_are_at_most_a_possible_duplicate() -> None:
    match = score(profile("平安银行股份有限公司", uscc=USCC_PING_AN),
                  profile("平安银行股份有限公司", "1", uscc=USCC_OTHER))
    assert match.score <= POSSIBLE_THRESHOLD
    assert "different USCC" in match.reasons


def test_short_name_matches_the_full_name() -> None:
    match = score(profile("平安银行"), profile("平安银行股份有限公司", "1"))
    assert match.score >= DUPLICATE_THRESHOLD


def test_bracketed_region_and_suffix_variant_is_a_duplicate() -> None:
    match = score(profile("中科金財科技（北京）有限公司"), profile("北京中科金财科技股份有限公司", "1"))
    assert match.score >= DUPLICATE_THRESHOLD
    assert "same core name" in match.reasons


def test_different_regions_lower_the_score() -> None:
    same = score(profile("北京明睿信息技术有限公司"), profile("北京明睿信息技术有限公司", "1"))
    other = score(profile("北京明睿信息技术有限公司"), profile("上海明睿信息技术有限公司", "1"))
    assert other.score < same.score
    assert other.score < DUPLICATE_THRESHOLD
    assert "different region" in other.reasons


def test_branch_is_not_a_duplicate_of_its_head_office() -> None:
    match = score(profile("中国平安财产保险股份有限公司北京分公司"), profile("中国平安财产保险股份有限公司", "1"))
    assert POSSIBLE_THRESHOLD <= match.score < DUPLICATE_THRESHOLD
    assert "branch vs head office" in match.reasons


def test_two_character_core_alone_is_only_possible() -> None:
    # 万马股份 (a short name) vs 万马科技股份有限公司: a different company may share a two-character core.
    match = score(profile("万马股份"), profile("万马科技股份有限公司", "1"))
    assert POSSIBLE_THRESHOLD <= match.score < DUPLICATE_THRESHOLD


def test_abbreviation_is_a_possible_duplicate() -> None:
    match = score(profile("南钢股份"), profile("南京钢铁股份有限公司", "1"))
    assert POSSIBLE_THRESHOLD <= match.score < DUPLICATE_THRESHOLD
    assert "short name abbreviation" in match.reasons


def test_english_name_and_alias_match() -> None:
    stored = profile("平安银行股份有限公司", "1", english_names=("Ping An Bank Co., Ltd.",), aliases=("深发展",))
    assert score(profile("PING AN BANK COMPANY LIMITED"), stored).reasons[0] == "same English name"
    assert score(profile("深发展"), stored).score >= DUPLICATE_THRESHOLD


def test_shared_phone_and_domain_add_evidence() -> None:
    query = profile("某某公司", phones=("13800138000",), emails=("a@pingan.com",))
    candidate = profile("完全不同", "1", phones=("+86 138 0013 8000",))
    assert score(query, candidate).score >= POSSIBLE_THRESHOLD
    assert "same phone" in score(query, candidate).reasons
    public = profile("完全不同", "2", emails=("x@qq.com",))
    assert score(profile("某某公司", emails=("y@qq.com",)), public).score < POSSIBLE_THRESHOLD


def test_verdict_thresholds() -> None:
    def match(value: float) -> Match:
        return Match(external_id="1", name="x", score=value)

    assert verdict([]) == "unique"
    assert verdict([match(0.59)]) == "unique"
    assert verdict([match(0.60)]) == "possible_duplicate"
    assert verdict([match(0.3), match(0.90)]) == "duplicate"


# --- keys, index, check, scan -------------------------------------------------------------------

def test_blocking_keys_are_few_and_typed() -> None:
    keys = blocking_keys(profile("北京中科金财科技股份有限公司", english_names=("Sinodata Co., Ltd.",),
                                 uscc=USCC_OTHER, phones=("010-88886666",), emails=("a@sinodata.net",)))
    names = [key.key for key in keys]
    assert len(names) == len(set(names))
    assert len(names) <= 25
    assert {"u:" + USCC_OTHER, "t:+861088886666", "d:sinodata.net", "c:中科金财", "y:zhongkejincai",
            "E:sinodata"} <= set(names)


def _index() -> CandidateIndex:
    index = CandidateIndex()
    for external_id, name in [("1", "平安银行股份有限公司"), ("2", "北京中科金财科技股份有限公司"),
                              ("3", "南京钢铁股份有限公司"), ("4", "万科企业股份有限公司"),
                              ("5", "北京中科金财科技有限公司")]:
        index.add(profile(name, external_id))
    return index


@pytest.mark.parametrize(("query", "expected_top", "expected_verdict"), [
    ("平安銀行", "1", "duplicate"),
    ("中科金财（北京）", "2", "duplicate"),
    ("中科金才科技股份有限公司", "2", "possible_duplicate"),  # one-character typo
    ("南钢", "3", "possible_duplicate"),
    ("万科", "4", "possible_duplicate"),
    ("华为技术有限公司", None, "unique"),
])
def test_dedupe_check_with_the_index(query: str, expected_top: str | None, expected_verdict: str) -> None:
    result = dedupe_check(profile(query), _index())
    assert result.verdict == expected_verdict
    if expected_top is not None:
        assert result.candidates[0].external_id == expected_top
    assert result.as_dict()["verdict"] == expected_verdict


def test_index_replaces_and_removes() -> None:
    index = _index()
    index.add(profile("平安保险", "1"))
    assert dedupe_check(profile("平安银行"), index).verdict != "duplicate"
    index.remove("1")
    assert len(index) == 4
    assert "c:平安银行" not in index.posting_sizes()


def test_stop_keys_are_skipped() -> None:
    index = CandidateIndex(per_key_limit=1)
    index.add(profile("明睿科技有限公司", "1"))
    index.add(profile("明睿科技有限公司", "2"))
    # Every key of the query has two ids: all are stop keys, so no candidates.
    assert index.candidates(profile("明睿科技有限公司")) == []


def test_scan_finds_duplicate_groups() -> None:
    groups = dedupe_scan(_index())
    assert [group.external_ids for group in groups] == [("2", "5")]
    assert groups[0].pairs[0][2] >= DUPLICATE_THRESHOLD
    assert groups[0].as_dict()["external_ids"] == ["2", "5"]


# --- properties ---------------------------------------------------------------------------------

cjk = st.characters(min_codepoint=0x4E00, max_codepoint=0x9FA5)
suffixes = st.sampled_from(["", "有限公司", "股份有限公司", "集团有限公司", "（北京）有限公司", "科技有限公司"])
prefixes = st.sampled_from(["", "北京", "上海市", "深圳市", "广东省"])


@settings(max_examples=200, deadline=None)
@given(prefixes, st.text(alphabet=cjk, min_size=2, max_size=6), suffixes,
       prefixes, st.text(alphabet=cjk, min_size=2, max_size=6), suffixes)
def test_score_is_symmetric(p1: str, body1: str, s1: str, p2: str, body2: str, s2: str) -> None:
    first, second = profile(p1 + body1 + s1, "a"), profile(p2 + body2 + s2, "b")
    assert abs(score(first, second).score - score(second, first).score) <= 0.02


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=cjk, min_size=1, max_size=10))
def test_score_is_in_range_and_self_match_is_full(name: str) -> None:
    assert score(profile(name, "a"), profile(name, "b")).score == 1.0
    other = score(profile(name, "a"), profile(name[::-1] + "公司", "b")).score
    assert 0.0 <= other <= 1.0
