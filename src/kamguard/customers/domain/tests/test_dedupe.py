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
    any_warns,
    blocking_keys,
    customer_profile,
    dedupe_check,
    dedupe_scan,
    rank_candidates,
    score,
    verdict,
    warns,
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


# --- distinct companies are not warned about; true variants still are ------------------------------

@pytest.mark.parametrize(("first", "second"), [
    # A shared brand word in two businesses of a group (the import warned about these).
    ("平安银行股份有限公司", "中国平安保险(集团)股份有限公司"),
    ("长江出版传媒股份有限公司", "长江传媒副食有限公司"),
    ("万达信息股份有限公司", "朝阳万达信息农业有限责任公司"),
    # Nothing in common but industry words and the legal form.
    ("呼和浩特市轴敦工程管理有限责任公司", "阜阳想卓工程管理有限责任公司"),
    ("德州泸柯医疗用品有限公司", "柯源医疗用品科技有限公司"),
    ("黔南布依族苗族自治州旅锈汽车配件有限公司", "黔南布依族苗族自治州诚政汽车配件有限责任公司"),
    # A region's bank and another region's; the same industry core in two regions.
    ("北京银行股份有限公司", "南京银行股份有限公司"),
    ("重庆啤酒股份有限公司", "青岛啤酒股份有限公司"),
    ("西宁特殊钢股份有限公司", "抚顺特殊钢股份有限公司"),
    # Registered brands that differ by what follows (阳光 / 阳光城) or by one character and a region.
    ("阳光城集团股份有限公司", "江苏阳光股份有限公司"),
    ("东方通信股份有限公司", "北京东方通科技股份有限公司"),
])
def test_distinct_companies_are_not_warned_about(first: str, second: str) -> None:
    for a, b in ((first, second), (second, first)):
        match = score(profile(a), profile(b, "1"))
        assert match.score < POSSIBLE_THRESHOLD, (a, b, match)


def test_a_short_name_of_the_query_does_not_make_another_registered_company_a_duplicate() -> None:
    # 瀛通通讯石材 (a generated company's short name) contains 瀛通通讯, a listed company's short name;
    # both have registered names, and those say they are different businesses.
    query = profile("鹤岗瀛通通讯石材有限公司", aliases=("瀛通通讯石材",))
    stored = profile("瀛通通讯股份有限公司", "1", aliases=("瀛通通讯",))
    assert score(query, stored).score < POSSIBLE_THRESHOLD
    # A short name typed alone still finds the company.
    assert score(profile("瀛通通讯"), stored).score >= DUPLICATE_THRESHOLD


@pytest.mark.parametrize(("first", "second"), [
    ("Hengli Petrochemical Co.,Ltd.", "Hengyi Petrochemical Co., Ltd"),
    ("Bank of Hangzhou Co., Ltd.", "Bank of Zhengzhou Co.,Ltd"),
    ("China Yinhe Electronics Co., Ltd.", "China Xinke Electronics Co., Ltd."),
    ("Jiangsu Expressway Company Limited", "Jilin Expressway Co.,Ltd."),
])
def test_english_names_need_the_same_distinctive_words(first: str, second: str) -> None:
    match = score(profile(first), profile(second, "1"))
    assert match.score < POSSIBLE_THRESHOLD


def test_english_name_without_legal_words_is_still_the_same() -> None:
    match = score(profile("Ping An Bank"), profile("平安银行股份有限公司", "1", english_names=("Ping An Bank Co., Ltd.",)))
    assert match.score >= DUPLICATE_THRESHOLD


@pytest.mark.parametrize(("query", "stored", "reason"), [
    ("瑞只科技股份有限公司", "瑞泰科技股份有限公司", "one character different"),  # typo in a two-character brand
    ("利欧集露股份有限公司", "利欧集团股份有限公司", "one character different"),  # typo in a generic word
    ("惠州光弘可技股份有限公司", "惠州光弘科技股份有限公司", "same pronunciation"),
    ("奥普家具股份有限公司", "奥普家居股份有限公司", "same pronunciation"),
    ("山东好当家海洋尚展股份有限公司", "山东好当家海洋发展股份有限公司", "one character different"),
    ("上海移远通讯技术股份有限公司", "上海移远通信技术股份有限公司", "one character different"),
    ("北京万东医疗科晶股份有限公司", "北京万东医疗科技股份有限公司", "one character different"),
])
def test_typos_and_homophones_stay_possible(query: str, stored: str, reason: str) -> None:
    match = score(profile(query), profile(stored, "1"))
    assert POSSIBLE_THRESHOLD <= match.score < DUPLICATE_THRESHOLD
    assert match.reasons[0] == reason


@pytest.mark.parametrize(("query", "stored"), [
    ("平安", "平安银行股份有限公司"),
    ("日发精机", "浙江日发精密机械股份有限公司"),  # the short name abbreviates the business
    ("东港股份", "东港股份有限公司"),  # and adds a generic word
    ("绿庭投资", "上海绿庭投资控股集团股份有限公司"),
    ("钢铁（杭州）股份有限公司", "杭州钢铁股份有限公司"),  # the region of a region-named company, bracketed
    ("东方电热科技股份有限公司", "镇江东方电热科技股份有限公司"),  # 东方 is a word here, not a region
])
def test_short_names_and_region_variants_stay_at_least_possible(query: str, stored: str) -> None:
    assert score(profile(query), profile(stored, "1")).score >= POSSIBLE_THRESHOLD


def test_a_fuzzy_name_never_blocks() -> None:
    # Only the same core (or an exact key) is a duplicate; similar names are at most possible.
    match = score(profile("东方通信"), profile("北京东方通科技股份有限公司", "1"))
    assert POSSIBLE_THRESHOLD <= match.score < DUPLICATE_THRESHOLD


def test_same_core_with_other_generic_words_is_not_blocked() -> None:
    # 中远海运发展 / 中远海运科技: companies of one group — a warning, not a block.
    match = score(profile("中远海运发展股份有限公司"), profile("中远海运科技股份有限公司", "1"))
    assert POSSIBLE_THRESHOLD <= match.score < DUPLICATE_THRESHOLD
    # One generic word more is still the same name (the legal suffix changed).
    assert score(profile("北京中科金财科技集团有限公司"), profile("北京中科金财科技股份有限公司", "1")).score \
        >= DUPLICATE_THRESHOLD


def test_a_group_name_without_legal_form_is_possible() -> None:
    # 国际 and 集团 are generic words: the business (物流) is the same.
    match = score(profile("上海浦江国际物流集团"), profile("上海浦江物流有限公司", "1"))
    assert POSSIBLE_THRESHOLD <= match.score < DUPLICATE_THRESHOLD


# --- warns: the verdict's answer without scoring every candidate ----------------------------------

# Small alphabets, so that random names share brand characters, regions, industry words and pinyin often.
brand_chars = st.sampled_from(list("华润中科金财东方通信平安长江光弘瑞泰利欧万达阳光城同兴达忠可"))  # 中科 / 忠可: one pinyin
brand_words = st.text(alphabet=brand_chars, min_size=1, max_size=5)
regions = st.sampled_from(["", "北京", "上海市", "深圳市", "广东省", "江苏", "镇江", "（北京）", "杭州"])
industries = st.sampled_from(["", "科技", "电子", "通信", "银行", "物流", "医疗用品", "工程管理", "传媒", "集团"])
legal = st.sampled_from(["", "有限公司", "股份有限公司", "有限责任公司", "集团股份有限公司", "分公司"])
english = st.sampled_from(["", "Ping An Bank", "Ping An Insurance", "Tengda Electronics", "China Tengda Electronics",
                           "Hengli Petrochemical", "Hengyi Petrochemical", "Bank of Hangzhou"])
phones = st.sampled_from(["", "13800138000", "13912345678"])


@st.composite
def entered(draw: st.DrawFn) -> dict[str, object]:
    brand, industry = draw(brand_words), draw(industries)
    name = draw(regions) + brand + industry + draw(legal)
    aliases = (brand + industry,) if draw(st.booleans()) else ()
    english_name = draw(english)
    phone = draw(phones)
    return {"name": name, "aliases": aliases, "english_names": (english_name,) if english_name else (),
            "phones": (phone,) if phone else ()}


@settings(max_examples=1500, deadline=None)
@given(entered(), entered())
def test_warns_is_exactly_a_score_at_the_possible_threshold(first: dict[str, object], second: dict[str, object]) -> None:
    query, candidate = profile(external_id="q", **first), profile(external_id="c", **second)  # type: ignore[arg-type]
    assert warns(query, candidate) == (score(query, candidate).score >= POSSIBLE_THRESHOLD)


PAIRS = [
    ("平安银行股份有限公司", "中国平安保险(集团)股份有限公司"), ("长江出版传媒股份有限公司", "长江传媒副食有限公司"),
    ("呼和浩特市轴敦工程管理有限责任公司", "阜阳想卓工程管理有限责任公司"), ("北京银行股份有限公司", "南京银行股份有限公司"),
    ("重庆啤酒股份有限公司", "青岛啤酒股份有限公司"), ("阳光城集团股份有限公司", "江苏阳光股份有限公司"),
    ("东方通信股份有限公司", "北京东方通科技股份有限公司"), ("瑞只科技股份有限公司", "瑞泰科技股份有限公司"),
    ("惠州光弘可技股份有限公司", "惠州光弘科技股份有限公司"), ("奥普家具股份有限公司", "奥普家居股份有限公司"),
    ("平安", "平安银行股份有限公司"), ("日发精机", "浙江日发精密机械股份有限公司"), ("东港股份", "东港股份有限公司"),
    ("绿庭投资", "上海绿庭投资控股集团股份有限公司"), ("钢铁（杭州）股份有限公司", "杭州钢铁股份有限公司"),
    ("东方电热科技股份有限公司", "镇江东方电热科技股份有限公司"), ("东方通信", "北京东方通科技股份有限公司"),
    ("中远海运发展股份有限公司", "中远海运科技股份有限公司"), ("上海浦江国际物流集团", "上海浦江物流有限公司"),
    ("中信特钢", "中信泰富特殊钢集团股份有限公司"), ("苏州银行股份有限公司", "郑州银行股份有限公司"),
    ("中科电子有限公司", "忠可电子有限公司"),  # nothing in common but the pinyin of the core
]


@pytest.mark.parametrize(("first", "second"), PAIRS)
def test_warns_agrees_with_the_score_on_the_known_pairs(first: str, second: str) -> None:
    for a, b in ((first, second), (second, first)):
        query, candidate = profile(a, "q"), profile(b, "c")
        assert warns(query, candidate) == (score(query, candidate).score >= POSSIBLE_THRESHOLD), (a, b)


def test_exact_keys_warn_whatever_the_names() -> None:
    assert warns(profile("甲公司", "q", uscc=USCC_PING_AN), profile("乙公司", "c", uscc=USCC_PING_AN))
    assert warns(profile("甲公司", "q", phones=("13800138000",)), profile("乙公司", "c", phones=("138 0013 8000",)))
    assert not warns(profile("甲公司", "q", uscc=USCC_PING_AN), profile("乙公司", "c", uscc=USCC_OTHER))


def test_any_warns_is_the_verdict_of_the_ranking() -> None:
    # given: a query, a distinct company, itself (skipped, as rank_candidates skips it) and a variant
    query = profile("深圳市腾达电子科技有限公司", "7")
    distinct = profile("深圳市轴敦工程管理有限公司", "1")
    itself = profile("深圳市腾达电子科技有限公司", "7")
    variant = profile("腾达电子科技股份有限公司", "2")
    # then
    assert not any_warns(query, [distinct, itself])
    assert verdict(rank_candidates(query, [distinct, itself])) == "unique"
    assert any_warns(query, [distinct, itself, variant])
    assert verdict(rank_candidates(query, [distinct, itself, variant])) != "unique"


# --- pinyin -----------------------------------------------------------------------------------

@pytest.mark.parametrize("text", [
    "银行", "平安银行", "重庆长安汽车", "长春高新", "行业银行", "中科金财", "忠可", "乐视网Le", "３６０科技", "万科A", "ABC科技",
    "中国平安（集团）", "厦门国贸123", "", "·", "朝阳银行重庆分行"])
def test_pinyin_of_is_lazy_pinyin_joined(text: str) -> None:
    """The cached form gives what `lazy_pinyin` gives, phrases included (银行 is yinhang, not yinxing)."""
    from pypinyin import lazy_pinyin

    from kamguard.customers.domain.dedupe import pinyin_of

    assert pinyin_of(text) == "".join(lazy_pinyin(text))
    assert pinyin_of("平安银行") == "pinganyinhang"
    assert pinyin_of("重庆长安") == "chongqingchangan"


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("银行重庆长安乐中科金财忠可华润东方通信平安朝阳分公司AbZ09·（）() -")), max_size=12))
def test_pinyin_of_matches_lazy_pinyin_on_any_mix(text: str) -> None:
    from pypinyin import lazy_pinyin

    from kamguard.customers.domain.dedupe import pinyin_of

    assert pinyin_of(text) == "".join(lazy_pinyin(text))
