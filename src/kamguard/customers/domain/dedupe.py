"""Duplicate check (查重): profiles, blocking keys, pair scoring, verdicts, an in-memory index, scan.

How the Django layer uses this module
-------------------------------------
1. On every customer write: ``profile = customer_profile(record)``; replace the customer's rows in
   the key table with ``blocking_keys(profile)`` (``key`` indexed, ``weight`` stored beside it).
2. On a check: ``query = customer_profile(record_from_the_form)``; for each ``BlockingKey`` of the
   query fetch at most ``PER_KEY_LIMIT + 1`` customer ids with that key (one indexed equality query,
   or one ``UNION ALL`` of them); ignore keys that return more than ``PER_KEY_LIMIT`` ids (stop keys);
   add up the weights per customer id and keep the ``CANDIDATE_LIMIT`` heaviest — exactly what
   :meth:`CandidateIndex.candidates` does. Then load those customers, build their profiles, and call
   :func:`rank_candidates` and :func:`verdict` (or :func:`dedupe_check` with any
   :class:`CandidateSource`).
3. ``kamguard dedupe scan``: :func:`dedupe_scan` over all profiles with the same index lookup.

Thresholds (module constants, documented in docs/performance.md):
``score ≥ DUPLICATE_THRESHOLD (0.90)`` → ``duplicate`` (blocked);
``score ≥ POSSIBLE_THRESHOLD (0.60)`` → ``possible_duplicate`` (warned; proceeding needs a reason);
otherwise ``unique``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Literal, Protocol

from pypinyin import Style
from pypinyin.converter import UltimateConverter
from pypinyin.core import Pinyin
from rapidfuzz import fuzz
from rapidfuzz.distance import Indel

from kamguard.customers.domain.keys import company_mail_domain, normalise_phone, normalise_uscc
from kamguard.customers.domain.normalise import (
    GENERIC_WORDS,
    NormalisedName,
    english_distinctive_tokens,
    english_key_tokens,
    has_cjk,
    is_business_phrase,
    is_generic_phrase,
    normalise_company_name,
    normalise_english_name,
    split_industry_tail,
)
from kamguard.customers.domain.regions import match_region_prefix, region_of, regions_conflict

Verdict = Literal["duplicate", "possible_duplicate", "unique"]

DUPLICATE_THRESHOLD = 0.90
POSSIBLE_THRESHOLD = 0.60
# Candidates below this score are not reported at all.
REPORT_THRESHOLD = 0.40
# Index lookup limits: ids read per key (more → the key is a stop key), candidates scored per query.
PER_KEY_LIMIT = 2000
CANDIDATE_LIMIT = 60
# Bigram keys taken from the start of the core, where the brand sits; wildcard keys for short cores;
# abbreviation keys (first character + one of the next few).
MAX_BIGRAMS = 4
MAX_WILDCARD_LENGTH = 4
MAX_ABBREVIATION_REACH = 4
MAX_ENGLISH_TOKENS = 4
# Scoring of names that differ (see name_similarity): the weight of industry words and regions against
# the distinctive characters; the ceiling of names sharing at most one distinctive character or one
# brand in two businesses (below POSSIBLE_THRESHOLD: not a warning); the floor of a one-character typo.
MINOR_WEIGHT = 0.25
WEAK_SCORE = 0.55
SISTER_COMPANY_SCORE = 0.50
TYPO_SCORE = 0.62
HOMOPHONE_SCORE = 0.80
SHORT_NAME_CEILING = 0.85
FUZZY_CEILING = 0.88
SISTER_GENERIC_CEILING = 0.80
SIMILAR_MINIMUM = 0.72
ALIAS_CEILING = 0.59


@dataclass(frozen=True, slots=True)
class CustomerRecord:
    """What the duplicate check knows of a customer (stored or entered). Raw, unnormalised values."""

    external_id: str
    name: str
    aliases: tuple[str, ...] = ()
    english_names: tuple[str, ...] = ()
    uscc: str | None = None
    phones: tuple[str, ...] = ()
    emails: tuple[str, ...] = ()  # e-mail addresses, or web sites / bare domains


@dataclass(frozen=True, slots=True)
class Profile:
    """A record prepared for matching: normalised names and exact keys."""

    external_id: str
    display_name: str
    names: tuple[NormalisedName, ...]  # Chinese (or mixed) names: the name first, then aliases
    english: tuple[tuple[str, ...], ...]  # token tuples of English names and Latin-only aliases
    uscc: str | None = None
    phones: frozenset[str] = frozenset()
    domains: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class BlockingKey:
    """One row of the key table: ``key`` is ``<kind>:<value>``; ``weight`` ranks candidates."""

    key: str
    weight: int


@dataclass(frozen=True, slots=True)
class Match:
    """How strongly a query matches one candidate: ``score`` in 0..1 and the reasons, strongest first."""

    external_id: str
    name: str
    score: float
    reasons: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, object]:
        return {"external_id": self.external_id, "name": self.name, "score": round(self.score, 4),
                "reasons": list(self.reasons)}


@dataclass(frozen=True, slots=True)
class CheckResult:
    """The answer to one duplicate check: the verdict and the ranked candidates."""

    verdict: Verdict
    candidates: tuple[Match, ...]

    def as_dict(self) -> dict[str, object]:
        return {"verdict": self.verdict, "candidates": [match.as_dict() for match in self.candidates]}


@dataclass(frozen=True, slots=True)
class DuplicateGroup:
    """Customers linked by duplicate (or, if asked, possible duplicate) pairs, found by a scan."""

    external_ids: tuple[str, ...]
    pairs: tuple[tuple[str, str, float, tuple[str, ...]], ...] = field(default_factory=tuple)

    def as_dict(self) -> dict[str, object]:
        return {
            "external_ids": list(self.external_ids),
            "pairs": [{"first": a, "second": b, "score": round(s, 4), "reasons": list(r)}
                      for a, b, s, r in self.pairs],
        }


# ---------------------------------------------------------------------------------------------
# Profiles and keys


def customer_profile(record: CustomerRecord) -> Profile:
    """Normalise every name and exact key of a record. Names without any CJK character (``Ping An
    Bank``) are treated as English names, wherever they were entered."""
    names: list[NormalisedName] = []
    english: list[tuple[str, ...]] = []
    seen: set[str] = set()
    for raw in (record.name, *record.aliases):
        if not raw or not raw.strip():
            continue
        if has_cjk(raw):
            normalised = normalise_company_name(raw)
            if normalised.full and normalised.full not in seen:
                seen.add(normalised.full)
                names.append(normalised)
        else:
            tokens = normalise_english_name(raw)
            if tokens and tokens not in english:
                english.append(tokens)
    for raw in record.english_names:
        tokens = normalise_english_name(raw)
        if tokens and tokens not in english:
            english.append(tokens)
    phones = frozenset(p for p in (normalise_phone(raw) for raw in record.phones) if p)
    domains = frozenset(d for d in (company_mail_domain(raw) for raw in record.emails) if d)
    return Profile(
        external_id=record.external_id,
        display_name=record.name,
        names=tuple(names),
        english=tuple(english),
        uscc=normalise_uscc(record.uscc),
        phones=phones,
        domains=domains,
    )


# What `pypinyin.lazy_pinyin(text)` builds on each call, built once.
_PINYIN = Pinyin(UltimateConverter(v_to_u=False, neutral_tone_with_five=False, tone_sandhi=False))


@lru_cache(maxsize=65536)
def _word_pinyin(word: str) -> str:
    """The toneless pinyin of one segment of `_PINYIN.seg` (a phrase, a character or a run of other characters),
    converted as `lazy_pinyin` converts each segment."""
    return "".join(syllable for readings in _PINYIN._converter.convert(  # noqa: SLF001 - pypinyin's own converter
        word, Style.NORMAL, False, "default", strict=True) for syllable in readings)


@lru_cache(maxsize=65536)
def pinyin_of(text: str) -> str:
    """Toneless pinyin of a string, syllables joined (中科金财 → zhongkejincai); Latin kept.

    ``"".join(lazy_pinyin(text))``: the same segmentation and the same conversion of each segment, but the
    segments' pinyin cached (company names share their characters and phrases; ``lazy_pinyin`` converted every
    character anew, ≈ a fifth of a new customer's keys)."""
    return "".join(_word_pinyin(word) for word in _PINYIN.seg(text))


def _name_keys(name: NormalisedName) -> Iterator[tuple[str, int]]:
    """Keys of one Chinese name (≤ 18), as (key, weight): see :func:`blocking_keys`."""
    yield f"n:{name.full}", 40
    core = name.core
    yield f"c:{core}", 20
    if has_cjk(core):
        yield f"y:{pinyin_of(core)}", 10
    if name.brand != core and len(name.brand) >= 2:
        yield f"c:{name.brand}", 8
    for start in range(min(len(core) - 1, MAX_BIGRAMS)):
        yield f"b:{core[start:start + 2]}", 3
    if 2 <= len(core) <= MAX_WILDCARD_LENGTH:
        # One-character substitutions: 瑞泰 → 瑞? and ?泰 (what survives a typo in a short core).
        for position in range(len(core)):
            yield f"w:{core[:position]}?{core[position + 1:]}", 5
    # Abbreviations: first character + a later one (南京钢铁 → 南钢, 首都开发 → 首开), on stem and core.
    for text in dict.fromkeys((name.stem, core)):
        for later in range(1, min(len(text), MAX_ABBREVIATION_REACH + 1)):
            yield f"a:{text[0]}{text[later]}", 2


def blocking_keys(profile: Profile) -> tuple[BlockingKey, ...]:
    """The keys stored for a customer and looked up for a query (the same function for both).

    ``u:`` USCC, ``t:`` phone, ``d:`` mail domain, ``n:`` normalised full name, ``c:`` core (and brand),
    ``y:`` pinyin of the core, ``b:`` bigrams of the core's start, ``w:`` the core with one character
    replaced by ``?`` (cores of 2–4 characters), ``a:`` abbreviation pairs (first character + one of the
    next four, of stem and core), ``E:`` whole English name, ``e:`` distinctive English tokens.
    Duplicates keep the largest weight. A customer with one Chinese name, one English name, a USCC, a
    phone and a domain has about 20–25 keys (see docs/performance.md).
    """
    keys: dict[str, int] = {}

    def add(key: str, weight: int) -> None:
        if keys.get(key, -1) < weight:
            keys[key] = weight

    if profile.uscc:
        add(f"u:{profile.uscc}", 100)
    for phone in sorted(profile.phones):
        add(f"t:{phone}", 30)
    for domain in sorted(profile.domains):
        add(f"d:{domain}", 20)
    for name in profile.names:
        for key, weight in _name_keys(name):
            add(key, weight)
    for tokens in profile.english:
        add("E:" + " ".join(tokens), 30)
        for token in english_key_tokens(tokens)[:MAX_ENGLISH_TOKENS]:
            add(f"e:{token}", 3)
    return tuple(BlockingKey(key, weight) for key, weight in keys.items())


# ---------------------------------------------------------------------------------------------
# Scoring


def _is_subsequence(short: str, long: str) -> bool:
    position = 0
    for char in short:
        position = long.find(char, position) + 1
        if position == 0:
            return False
    return True


def _short_name_score(short: str, long: str) -> tuple[float, str] | None:
    """平安银行 ⊂ 平安银行股份 (contained) or 中信特钢 ≺ 中信泰富特钢 (abbreviation, in order)."""
    if len(short) < 2 or len(short) >= len(long):
        return None
    if short in long:
        return 0.78 + 0.10 * len(short) / len(long), "short name contained"
    if short[0] == long[0] and _is_subsequence(short, long):
        return 0.68 + 0.16 * len(short) / len(long), "short name abbreviation"
    return None


@lru_cache(maxsize=65536)
def _char_weights(text: str, core: str) -> tuple[tuple[float, ...], tuple[bool, ...]]:
    """Per character of ``text`` (a core or a stem): its weight in :func:`_weighted_ratio` and whether
    it is distinctive. The distinctive head of the core (轴敦 in 轴敦工程管理) weighs 1; its industry
    and generic words (工程管理) and any region around the core weigh ``MINOR_WEIGHT``."""
    start = text.find(core)
    if start < 0:
        start, core = 0, text
    head, tail = split_industry_tail(core)
    end = start + len(head)
    flags = tuple(start <= position < end for position in range(len(text)))
    return tuple(1.0 if flag else MINOR_WEIGHT for flag in flags), flags


def _weighted_ratio(first: str, first_core: str, second: str, second_core: str) -> tuple[float, int]:
    """An Indel (LCS) similarity where distinctive characters count more than industry words and
    regions, and how many characters the two share that are distinctive in both.

    A shared character weighs the smaller of its two weights (通 of 东方通 / 东方通信 is a brand
    character in one, an industry word's in the other), a character of one side only its own weight."""
    if set(first).isdisjoint(second):
        return 0.0, 0
    weights_a, flags_a = _char_weights(first, first_core)
    weights_b, flags_b = _char_weights(second, second_core)
    matched = matched_own = 0.0
    shared = 0
    for block in Indel.opcodes(first, second):
        if block.tag == "equal":
            end = block.src_end
            destination = block.dest_start
            for weight_a, weight_b, flag_a, flag_b in zip(
                    weights_a[block.src_start:end], weights_b[destination:destination + end - block.src_start],
                    flags_a[block.src_start:end], flags_b[destination:destination + end - block.src_start],
                    strict=True):
                matched += 2 * (weight_a if weight_a < weight_b else weight_b)
                matched_own += weight_a + weight_b
                shared += flag_a and flag_b
    total = matched + sum(weights_a) + sum(weights_b) - matched_own
    return (matched / total if total else 0.0), shared


def _one_substitution(first: str, second: str) -> bool:
    if len(first) != len(second):
        return False
    differences = 0
    for a, b in zip(first, second, strict=True):
        if a != b:
            differences += 1
            if differences > 1:
                return False
    return differences == 1


def _without_generic(text: str) -> str:
    for word in GENERIC_WORDS:
        text = text.replace(word, "")
    return text


_region_prefix = lru_cache(maxsize=65536)(match_region_prefix)


def _region_qualified(first: NormalisedName, second: NormalisedName) -> bool:
    """钢铁（杭州） / 杭州钢铁: the region and the core of one are the core of the other."""
    if first.region is None or len(second.core) <= len(first.core) or not second.core.endswith(first.core):
        return False
    region = first.region_info
    prefix = _region_prefix(second.core)
    if prefix is None or second.core[len(prefix):] != first.core:
        return False
    found = region_of(prefix)
    return found is not None and region is not None and found.code == region.code


def _region_in_name(first: NormalisedName, second: NormalisedName) -> bool:
    """东方电热 / 镇江东方电热: one name's region (东方) is a word of the other's — no conflict."""
    return bool(first.region and first.region in second.stem) or bool(second.region and second.region in first.stem)


def _sister_tails(first: str, second: str) -> bool:
    """Two industry tails of one brand that name different businesses: both present and neither
    contains the other (通讯石材 / 通讯 is not: 通讯 is inside; 出版传媒 / 传媒副食 is)."""
    return bool(first) and bool(second) and first not in second and second not in first


def _core_similarity(first: NormalisedName, second: NormalisedName) -> tuple[float, str]:
    """Similarity of two different cores, with the reason (see :func:`name_similarity`)."""
    head_a, tail_a = split_industry_tail(first.core)
    head_b, tail_b = split_industry_tail(second.core)
    full_a, full_b = first.legal_form is not None, second.legal_form is not None
    if head_a == head_b:
        # One brand, different industry words. Two registered names (长江出版传媒 / 长江传媒副食,
        # 万达信息 / 万达信息农业) are two companies of a group; a typed short name is the company only
        # if it names no other business (平安 / 平安银行, 瀛通通讯 / 瀛通通讯股份 — not 瀛通通讯 / 瀛通通讯石材).
        if full_a and full_b:
            # …unless the tails differ by generic words only (中国化学工程集团 / 中国化学工程).
            sister = _without_generic(tail_a) != _without_generic(tail_b)
        elif full_a or full_b:
            # A short name may abbreviate the business (日发精机 / 日发精密机械, 绿庭投资 / 绿庭投资控股集团)
            # and add generic words (东港股份, 浦江国际物流集团); it must not name another business.
            short, registered = (second, first) if full_a else (first, second)
            typed = _without_generic(split_industry_tail(short.core)[1])
            described = split_industry_tail(registered.core)[1] + "".join(registered.generic)
            sister = bool(typed) and not _is_subsequence(typed, described)
        else:
            sister = _sister_tails(tail_a, tail_b)
        if sister:
            return SISTER_COMPANY_SCORE, "same brand, different business"
    score, shared = _weighted_ratio(first.core, first.core, second.core, second.core)
    by_stem, shared_stem = score, shared
    if (first.stem != first.core) != (second.stem != second.core):
        # A region on one side only: perhaps an unrecognised (mistyped) region on the other.
        by_stem, shared_stem = _weighted_ratio(first.stem, first.core, second.stem, second.core)
    reason = "similar core name"
    # Similar is not the same: only the same core (or an exact key) blocks.
    score, shared = min(max(score, by_stem), FUZZY_CEILING), max(shared, shared_stem)
    if shared < 2 or score < SIMILAR_MINIMUM:
        # At most one distinctive character in common (北京银行 / 南京银行, 旅锈汽配 / 诚政汽配), or a
        # few shared characters in a longer name (海达橡塑 / 海能达通信): typos are caught by _typo_floor.
        score = min(score, WEAK_SCORE)
    elif full_a and full_b and head_a != head_b and (head_a.startswith(head_b) or head_b.startswith(head_a)):
        # 阳光 / 阳光城, 同兴 / 同兴达, 五矿 / 五矿稀土: registered names whose brands differ by what
        # follows are different brands (a typo changes a character; a region typo comes first).
        score = min(score, WEAK_SCORE)
    contained = False
    for a, b in ((first, second), (second, first)):
        # Containment and abbreviation are what a typed short name (no legal form) does.
        if len(a.core) > len(b.core) or a.legal_form is not None:
            continue
        # 松原股份 / 浙江松原汽车安全系统: a generic word typed after the brand is not in the name.
        for typed_core in dict.fromkeys((a.core, _without_generic(a.core))):
            for long in dict.fromkeys((b.core, b.stem)):
                found = _short_name_score(typed_core, long)
                if found and (found[0] > score or not contained):
                    score, reason, contained = found[0], found[1], True
        if a.stem != a.core and len(a.stem) < len(b.stem):
            found = _short_name_score(a.stem, b.stem)
            if found and found[0] > score:
                score, reason, contained = found[0], found[1], True
    if head_a == head_b and not contained:
        score = min(score, SHORT_NAME_CEILING)
    if score < HOMOPHONE_SCORE and has_cjk(first.core) and pinyin_of(first.core) == pinyin_of(second.core):
        score, reason = HOMOPHONE_SCORE, "same pronunciation"
    return score, reason


def _typo_floor(first: NormalisedName, second: NormalisedName) -> tuple[float, str] | None:
    """The whole names (suffixes included) differ by one character, a homophone or, between two
    registered names, any character outside the region: a typo (光弘可技 / 光弘科技, 瑞只科技股份 /
    瑞泰科技股份, 利欧集露 / 利欧集团) — worth a warning, whatever the parts."""
    if not _one_substitution(first.full, second.full):
        return None
    position = next(i for i, (a, b) in enumerate(zip(first.full, second.full, strict=True)) if a != b)
    if has_cjk(first.full[position]) and pinyin_of(first.full[position]) == pinyin_of(second.full[position]):
        return HOMOPHONE_SCORE, "same pronunciation"
    if first.legal_form is None or second.legal_form is None:
        return None
    region_a, region_b = _region_prefix(first.full), _region_prefix(second.full)
    if region_a and region_b and region_a != region_b:
        return None  # 苏州银行 / 郑州银行: two regions' banks (大脑药业 / 大理药业 may be a typo)
    return TYPO_SCORE, "one character different"


def name_similarity(first: NormalisedName, second: NormalisedName) -> tuple[float, list[str]]:
    """Similarity of two normalised Chinese names in 0..1 with its reasons (symmetric).

    Distinct companies often share everything but their brand (字号): region, industry words, legal
    form (轴敦工程管理 / 想卓工程管理), or a brand in two businesses (长江出版传媒 / 长江传媒副食). So
    the same core is a (possible) duplicate; different cores are compared with distinctive characters
    weighing more than industry words and regions, and warn only when they share most of the brand;
    a one-character typo or homophone of the whole name is always a warning (see _typo_floor)."""
    if first.full == second.full:
        return 1.0, ["same normalised name"]
    reasons: list[str] = []
    same_core = first.core == second.core or _region_qualified(first, second) or _region_qualified(second, first)
    distinctive = False
    if same_core:
        # Two-character cores (万马, 中百), cores made of industry words only (出版传媒,
        # 农村商业银行) are shared by unrelated companies: a duplicate only between two full names with
        # the same generic words (同方股份有限公司 / 同方股份公司), otherwise at most possible.
        distinctive = len(first.core) >= 3 and not is_generic_phrase(first.core)
        both_full = first.legal_form is not None and second.legal_form is not None
        score = 0.95 if distinctive or (both_full and first.generic == second.generic) else 0.86
        reasons = ["same core name"]
    else:
        score, reason = _core_similarity(first, second)
        reasons.append(reason)
    if first.generic and second.generic:
        # 中远海运控股 vs 中远海运科技: same core, different companies more often than not.
        if first.generic == second.generic:
            score += 0.01
        else:
            score -= 0.03
            reasons.append("different generic words")
            generic_a, generic_b = set(first.generic), set(second.generic)
            if not (generic_a <= generic_b or generic_b <= generic_a):
                # 中远海运发展 / 中远海运科技 / 中远海运控股: a group's companies, never certainly one.
                score = min(score, SISTER_GENERIC_CEILING)
    first_region, second_region = first.region_info, second.region_info
    if regions_conflict(first_region, second_region) and not _region_in_name(first, second):
        # 重庆啤酒 / 青岛啤酒: a different region is a different company unless the core is distinctive
        # and the same (then perhaps the same group: possible at most).
        distinctive = distinctive and not is_business_phrase(first.core)
        score = score - 0.25 if same_core and distinctive else min(score - 0.15, WEAK_SCORE)
        reasons.append("different region")
    elif first_region is not None and second_region is not None:
        if first_region.code == second_region.code:
            score += 0.02
            reasons.append("same region")
        else:
            # Nested regions (苏州 / 常熟, 广东 / 深圳): no conflict, but no certainty either.
            score = min(score, 0.88)
            reasons.append("region within region")
    if not same_core and score < HOMOPHONE_SCORE:
        typo = _typo_floor(first, second)
        if typo is not None and typo[0] > score:
            score, reasons = typo[0], [typo[1]]
    if first.is_branch != second.is_branch:
        score -= 0.10
        reasons.append("branch vs head office")
    elif first.is_branch and first.branch != second.branch:
        score -= 0.15
        reasons.append("different branches")
    return min(max(score, 0.0), 1.0), reasons


def english_similarity(first: tuple[str, ...], second: tuple[str, ...]) -> tuple[float, list[str]]:
    """Similarity of two English names given as token tuples (see ``normalise_english_name``). Generic,
    industry and region words ("China", "Technology", "Electric", "Jiangsu") are not evidence: the
    distinctive tokens must be the same (China Yinhe Electronics / China Xinke Electronics differ)."""
    if first == second:
        return 0.95, ["same English name"]
    score = 0.9 * fuzz.token_sort_ratio(" ".join(first), " ".join(second)) / 100.0
    own = set(english_distinctive_tokens(first))
    if not own or own != set(english_distinctive_tokens(second)):
        # Hengli / Hengyi Petrochemical, Bank of Hangzhou / of Zhengzhou: the words that tell companies
        # apart differ (or there are none), whatever the rest.
        score = min(score, WEAK_SCORE)
    return score, ["similar English name"]


def _registered(profile: Profile) -> bool:
    return any(name.legal_form is not None for name in profile.names)


def score(query: Profile, candidate: Profile) -> Match:
    """Score one candidate against a query: 0..1 with reasons. Symmetric up to the display fields.

    * same valid USCC → 1.0; two different valid USCCs cap the score at 0.60 (different legal entities,
      at most a possible duplicate, e.g. a branch),
    * the best name similarity over all Chinese name pairs and all English name pairs — when both
      customers have a registered name (with a legal form), a pair involving a short name or alias
      counts at most ALIAS_CEILING (below a warning),
    * a shared phone or company mail domain adds evidence (0.70 / 0.65 on its own, +0.10 / +0.05 on a
      name match of at least 0.60).
    """
    best = 0.0
    reasons: list[str] = []
    # Two registered names (with a legal form) say best whether two companies are one: a short name
    # on either side (瀛通通讯, 北京利尔) is then no more than a hint (瀛通通讯石材有限公司 is not 瀛通通讯股份).
    both_registered = _registered(query) and _registered(candidate)
    for a in query.names:
        for b in candidate.names:
            value, why = name_similarity(a, b)
            if both_registered and (a.legal_form is None or b.legal_form is None) and value > ALIAS_CEILING:
                value, why = ALIAS_CEILING, [*why, "short name only"]
            if value > best:
                best, reasons = value, why
    for tokens_a in query.english:
        for tokens_b in candidate.english:
            value, why = english_similarity(tokens_a, tokens_b)
            if value > best:
                best, reasons = value, why
    if query.phones & candidate.phones:
        best = min(1.0, best + 0.10) if best >= POSSIBLE_THRESHOLD else max(best, 0.70)
        reasons.insert(0, "same phone")
    if query.domains & candidate.domains:
        best = min(1.0, best + 0.05) if best >= POSSIBLE_THRESHOLD else max(best, 0.65)
        reasons.insert(0, "same mail domain")
    if query.uscc and candidate.uscc:
        if query.uscc == candidate.uscc:
            best = 1.0
            reasons.insert(0, "same USCC")
        else:
            best = min(best, 0.60)
            reasons.append("different USCC")
    return Match(external_id=candidate.external_id, name=candidate.display_name, score=best,
                 reasons=tuple(reasons))


# ---------------------------------------------------------------------------------------------
# Whether a pair warns, fast: batch registration of distinct companies


@lru_cache(maxsize=65536)
def _distinctive_part(text: str, core: str) -> tuple[str, frozenset[str]]:
    """The characters of ``text`` that :func:`_char_weights` flags as distinctive, as one string and a set."""
    start = text.find(core)
    if start < 0:
        start, core = 0, text
    part = text[start:start + len(split_industry_tail(core)[0])]
    return part, frozenset(part)


def _share_two(first: tuple[str, frozenset[str]], second: tuple[str, frozenset[str]]) -> bool:
    """Whether two distinctive parts have at least two characters in common, counted with repetition —
    a necessary condition for an alignment to match two distinctive characters."""
    common = first[1] & second[1]
    if len(common) >= 2:
        return True
    return bool(common) and sum(min(first[0].count(char), second[0].count(char)) for char in common) >= 2


def _ratio_bound(first: str, first_core: str, second: str, second_core: str) -> float:
    """An upper bound of :func:`_weighted_ratio`: every character the other string also has, matched.

    The ratio is M / (M + U) — M the matched pairs' doubled smaller weights, U the unmatched characters'
    weights — which is at most S / (S + U) = S / (all weights) for S the matched pairs' own weights,
    and S is at most the weight of the characters found in the other string."""
    weights_a = _char_weights(first, first_core)[0]
    weights_b = _char_weights(second, second_core)[0]
    total = sum(weights_a) + sum(weights_b)
    if not total:
        return 0.0
    in_b, in_a = set(second), set(first)
    found = sum(w for char, w in zip(first, weights_a, strict=True) if char in in_b) + sum(
        w for char, w in zip(second, weights_b, strict=True) if char in in_a)
    return found / total


def _core_may_warn(first: NormalisedName, second: NormalisedName) -> bool:
    """False only when :func:`_core_similarity` of two different cores is at most WEAK_SCORE.

    Above it needs one of: the weighted alignment of the cores (or, with a region on one side only, of
    the stems) at SIMILAR_MINIMUM or more with two distinctive characters matched — which are then two
    characters common to both distinctive parts; a short name contained or abbreviated (a non-None
    :func:`_short_name_score` in the same loop as there); or cores with the same pinyin."""
    by_stem = (first.stem != first.core) != (second.stem != second.core)
    if _share_two(_distinctive_part(first.core, first.core), _distinctive_part(second.core, second.core)) or (
            by_stem and _share_two(_distinctive_part(first.stem, first.core),
                                   _distinctive_part(second.stem, second.core))):
        if _ratio_bound(first.core, first.core, second.core, second.core) >= SIMILAR_MINIMUM - 1e-9 or (
                by_stem and _ratio_bound(first.stem, first.core, second.stem, second.core) >= SIMILAR_MINIMUM - 1e-9):
            return True
    for a, b in ((first, second), (second, first)):
        if a.legal_form is not None or len(a.core) > len(b.core):
            continue
        for typed_core in (a.core, _without_generic(a.core)):
            for long in (b.core, b.stem):
                if _short_name_score(typed_core, long) is not None:
                    return True
        if a.stem != a.core and len(a.stem) < len(b.stem) and _short_name_score(a.stem, b.stem) is not None:
            return True
    return has_cjk(first.core) and pinyin_of(first.core) == pinyin_of(second.core)


def _name_may_warn(first: NormalisedName, second: NormalisedName) -> bool:
    """False only when :func:`name_similarity` is below POSSIBLE_THRESHOLD.

    Different cores score their core similarity plus at most 0.03 (generic words +0.01, same region
    +0.02; everything else lowers it), unless the whole names are one character apart (the typo
    floor). A core similarity of at most WEAK_SCORE therefore ends at most at 0.58."""
    core_a, core_b = first.core, second.core
    if first.full == second.full or core_a == core_b:
        return True
    # (_region_qualified's own first tests, inlined: most pairs fail them)
    if len(core_b) > len(core_a) and core_b.endswith(core_a) and _region_qualified(first, second):
        return True
    if len(core_a) > len(core_b) and core_a.endswith(core_b) and _region_qualified(second, first):
        return True
    if len(first.full) == len(second.full) and _one_substitution(first.full, second.full):
        return True
    return _core_may_warn(first, second)


@lru_cache(maxsize=65536)
def _english_distinctive_set(tokens: tuple[str, ...]) -> frozenset[str]:
    return frozenset(english_distinctive_tokens(tokens))


def warns(query: Profile, candidate: Profile) -> bool:
    """``score(query, candidate).score >= POSSIBLE_THRESHOLD`` — the same answer, mostly without scoring.

    A batch of distinct companies checks ~20 candidates per row, and nearly all of them share only weak
    keys (a bigram, an abbreviation pair): a few set and string tests (:func:`_may_warn`) show that such
    a pair stays below the threshold; the rest are scored."""
    return any_warns(query, (candidate,))


def any_warns(query: Profile, candidates: Iterable[Profile]) -> bool:
    """Whether any candidate scores at least POSSIBLE_THRESHOLD against the query — i.e. whether
    ``verdict(rank_candidates(query, candidates))`` is not ``unique`` (the query itself is skipped, as
    :func:`rank_candidates` skips it)."""
    query_registered = _registered(query)
    for candidate in candidates:
        if candidate.external_id == query.external_id and query.external_id:
            continue
        if _may_warn(query, query_registered, candidate) and score(query, candidate).score >= POSSIBLE_THRESHOLD:
            return True
    return False


def _may_warn(query: Profile, query_registered: bool, candidate: Profile) -> bool:
    """False only when ``score(query, candidate).score`` is certainly below POSSIBLE_THRESHOLD. Each rule
    mirrors :func:`score`:

    * the same USCC, a shared phone or a shared company mail domain reach the threshold on their own;
      two different USCCs only cap the score;
    * between two registered customers a pair involving a short name or alias counts at most
      ALIAS_CEILING, below the threshold;
    * two English names reach it only when equal or with the same distinctive tokens
      (:func:`english_similarity` caps the others at WEAK_SCORE);
    * two Chinese names: see :func:`_name_may_warn`.
    """
    if query.uscc and query.uscc == candidate.uscc:
        return True
    if (query.phones and not query.phones.isdisjoint(candidate.phones)) or (
            query.domains and not query.domains.isdisjoint(candidate.domains)):
        return True
    both_registered = query_registered and _registered(candidate)
    for a in query.names:
        for b in candidate.names:
            if both_registered and (a.legal_form is None or b.legal_form is None):
                continue
            if _name_may_warn(a, b):
                return True
    for tokens_a in query.english:
        own = _english_distinctive_set(tokens_a)
        for tokens_b in candidate.english:
            if tokens_a == tokens_b or (own and own == _english_distinctive_set(tokens_b)):
                return True
    return False


def verdict(matches: Sequence[Match]) -> Verdict:
    """``duplicate`` if any match reaches DUPLICATE_THRESHOLD, ``possible_duplicate`` if any reaches
    POSSIBLE_THRESHOLD, otherwise ``unique``."""
    top = max((match.score for match in matches), default=0.0)
    if top >= DUPLICATE_THRESHOLD:
        return "duplicate"
    if top >= POSSIBLE_THRESHOLD:
        return "possible_duplicate"
    return "unique"


def rank_candidates(query: Profile, candidates: Iterable[Profile], *, limit: int = 10,
                    minimum: float = REPORT_THRESHOLD) -> tuple[Match, ...]:
    """Score candidates, best first (ties by external id), dropping those below ``minimum``."""
    matches = [score(query, candidate) for candidate in candidates
               if candidate.external_id != query.external_id or not query.external_id]
    matches = [match for match in matches if match.score >= minimum]
    matches.sort(key=lambda match: (-match.score, match.external_id))
    return tuple(matches[:limit])


# ---------------------------------------------------------------------------------------------
# Candidate lookup


class CandidateSource(Protocol):
    """Anything that returns candidate profiles for a query: the in-memory index or the database."""

    def candidate_profiles(self, query: Profile) -> list[Profile]: ...


class CandidateIndex:
    """In-memory key table: blocking key → customer ids, with the same lookup rules as the database."""

    def __init__(self, *, per_key_limit: int = PER_KEY_LIMIT, candidate_limit: int = CANDIDATE_LIMIT) -> None:
        self.per_key_limit = per_key_limit
        self.candidate_limit = candidate_limit
        self._postings: dict[str, list[str]] = defaultdict(list)
        self._profiles: dict[str, Profile] = {}
        self._keys: dict[str, tuple[BlockingKey, ...]] = {}

    def __len__(self) -> int:
        return len(self._profiles)

    def add(self, profile: Profile, keys: tuple[BlockingKey, ...] | None = None) -> None:
        """Index a profile (replacing an earlier one with the same external id). ``keys``: its
        ``blocking_keys``, when the caller has them already."""
        if profile.external_id in self._profiles:
            self.remove(profile.external_id)
        keys = blocking_keys(profile) if keys is None else keys
        self._profiles[profile.external_id] = profile
        self._keys[profile.external_id] = keys
        for key in keys:
            self._postings[key.key].append(profile.external_id)

    def remove(self, external_id: str) -> None:
        for key in self._keys.pop(external_id, ()):
            postings = self._postings[key.key]
            postings.remove(external_id)
            if not postings:
                del self._postings[key.key]
        self._profiles.pop(external_id, None)

    def profile(self, external_id: str) -> Profile:
        return self._profiles[external_id]

    def profiles(self) -> Iterator[Profile]:
        return iter(self._profiles.values())

    def posting_sizes(self) -> dict[str, int]:
        """Number of ids per key (for index-size statistics)."""
        return {key: len(ids) for key, ids in self._postings.items()}

    def candidates(self, query: Profile, keys: tuple[BlockingKey, ...] | None = None) -> list[tuple[str, int]]:
        """Candidate ids with their summed key weights, heaviest first (at most ``candidate_limit``).

        Keys with more than ``per_key_limit`` ids are skipped as stop keys, as the database lookup
        (``LIMIT per_key_limit + 1``) will do. ``keys``: the query's ``blocking_keys``, if known.
        """
        weights: dict[str, int] = defaultdict(int)
        for key in blocking_keys(query) if keys is None else keys:
            ids = self._postings.get(key.key)
            if not ids or len(ids) > self.per_key_limit:
                continue
            for external_id in ids:
                weights[external_id] += key.weight
        if query.external_id:
            weights.pop(query.external_id, None)
        ranked = sorted(weights.items(), key=lambda item: (-item[1], item[0]))
        return ranked[: self.candidate_limit]

    def candidate_profiles(self, query: Profile, keys: tuple[BlockingKey, ...] | None = None) -> list[Profile]:
        return [self._profiles[external_id] for external_id, _ in self.candidates(query, keys)]


def dedupe_check(query: Profile, source: CandidateSource, *, limit: int = 10) -> CheckResult:
    """The full duplicate check for one entered customer: lookup, scoring, ranking, verdict."""
    matches = rank_candidates(query, source.candidate_profiles(query), limit=limit)
    return CheckResult(verdict=verdict(matches), candidates=matches)


def dedupe_scan(index: CandidateIndex, *, include_possible: bool = False) -> list[DuplicateGroup]:
    """Duplicate groups across all indexed customers: pairs at or above the duplicate threshold (or the
    possible threshold with ``include_possible``) joined transitively; largest groups first."""
    threshold = POSSIBLE_THRESHOLD if include_possible else DUPLICATE_THRESHOLD
    parent: dict[str, str] = {}

    def find(item: str) -> str:
        parent.setdefault(item, item)
        while parent[item] != item:
            parent[item] = parent[parent[item]]
            item = parent[item]
        return item

    pairs: list[tuple[str, str, float, tuple[str, ...]]] = []
    seen: set[tuple[str, str]] = set()
    for profile in index.profiles():
        for candidate in index.candidate_profiles(profile):
            pair = (min(profile.external_id, candidate.external_id), max(profile.external_id, candidate.external_id))
            if pair in seen:
                continue  # each pair once, whichever side found it
            seen.add(pair)
            match = score(profile, candidate)
            if match.score >= threshold:
                pairs.append((profile.external_id, candidate.external_id, match.score, match.reasons))
                parent[find(profile.external_id)] = find(candidate.external_id)
    members: dict[str, list[str]] = defaultdict(list)
    for item in list(parent):
        members[find(item)].append(item)
    pairs_by_root: dict[str, list[tuple[str, str, float, tuple[str, ...]]]] = defaultdict(list)
    for pair_found in pairs:
        pairs_by_root[find(pair_found[0])].append(pair_found)
    groups = [DuplicateGroup(external_ids=tuple(sorted(ids)), pairs=tuple(pairs_by_root[root]))
              for root, ids in members.items()]
    groups.sort(key=lambda group: (-len(group.external_ids), group.external_ids))
    return groups
