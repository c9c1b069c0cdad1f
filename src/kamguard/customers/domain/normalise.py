"""Normalisation of Chinese (and English) company names for the duplicate check.

``normalise_company_name("深圳市平安銀行（北京）股份有限公司北京分公司")`` folds widths (NFKC),
converts traditional to simplified characters (opencc ``t2s``), drops punctuation and spaces, and
splits the name into parts:

* ``region``   — a region in brackets, at the start or before the legal form (北京, 深圳市, （北京）,
  (北京)); of nested regions the most specific (江苏常熟 → 常熟),
* ``legal_form`` — 股份有限公司, 有限责任公司, 有限公司, 公司, 合伙企业 …,
* ``branch``   — the branch descriptor (北京分公司, 上海办事处) and ``is_branch``,
* ``generic``  — secondary words kept apart for scoring (集团, 控股, 科技, 股份 …),
* ``core``     — what is left: the distinctive part used for matching (平安银行),
* ``brand``    — the core with trailing industry words removed (路畅机电设备 → 路畅).

Stripping never leaves a core shorter than two characters or made only of industry words:
重庆水务集团股份有限公司 keeps 重庆水务 as its core, not 水务.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from functools import cache, lru_cache

import opencc
from pypinyin import lazy_pinyin

from kamguard.customers.domain.regions import (
    Region,
    match_region_prefix,
    region_of,
    regions_by_name,
    regions_conflict,
)

# Legal-form suffixes, stripped from the end, longest first.
LEGAL_FORMS: tuple[str, ...] = tuple(sorted({
    "股份有限公司", "有限责任公司", "股份合作公司", "股份公司", "有限公司", "总公司", "公司",
    "普通合伙企业", "有限合伙企业", "特殊普通合伙", "普通合伙", "有限合伙", "合伙企业",
    "个人独资企业", "独资企业", "个体工商户",
    "有限会社", "株式会社",
}, key=len, reverse=True))

# Business-form words for small firms, treated like legal forms (商行 in 丹妮贸易商行).
SHOP_FORMS: tuple[str, ...] = tuple(sorted({
    "商行", "经营部", "门市部", "经销部", "商店", "工作室", "生活馆", "专卖店", "门市", "网店", "淘宝店",
}, key=len, reverse=True))

# Branch descriptors: the words that end a branch's name.
BRANCH_WORDS: tuple[str, ...] = tuple(sorted({
    "分公司", "办事处", "代表处", "分行", "支行", "营业部", "分店", "分厂", "分部", "分所", "分中心",
    "分院", "分社",
}, key=len, reverse=True))

# Secondary "generic" words: removed from the end of the core, kept apart and scored lightly.
GENERIC_WORDS: tuple[str, ...] = tuple(sorted({
    "集团", "控股", "科技", "股份", "实业", "发展", "国际", "投资控股", "中国",
}, key=len, reverse=True))

# Industry words: removed from the end of the core to form the brand (路畅机电设备 → 路畅).
INDUSTRY_WORDS: tuple[str, ...] = tuple(sorted({
    "银行", "保险", "财产保险", "人寿保险", "证券", "信托", "基金", "期货", "金融", "金融服务", "融资租赁",
    "租赁", "担保", "小额贷款", "资产管理", "投资管理", "投资", "资本", "财务",
    "技术", "技术服务", "信息", "信息技术", "信息科技", "网络", "网络科技", "软件", "数据", "智能", "电子",
    "电子科技", "电子商务", "通信", "通讯", "光电", "电器", "电气", "电力", "电气设备", "机电", "机电设备",
    "设备", "设备制造", "机械", "精密", "精密工业", "工业", "制造", "仪器", "仪表", "自动化", "新材料",
    "材料", "化工", "化学", "塑料", "塑料制品", "塑胶", "制品", "橡胶", "玻璃", "陶瓷", "纸业", "造纸",
    "包装", "印刷", "纺织", "服装", "服饰", "鞋业", "皮革", "家具", "家居", "建材", "防水材料",
    "钢铁", "特钢", "金属", "有色", "矿业", "煤业", "煤电", "能源", "新能源", "环境", "环保",
    "环保科技", "环境工程", "水务", "燃气", "石油", "石化", "电池",
    "医药", "药业", "制药", "生物", "生物科技", "医疗", "医疗器械", "医疗用品", "器械", "健康", "卫生",
    "食品", "饮料", "酒业", "农业", "牧业", "渔业", "林业", "种业", "农产品", "园林", "绿化", "园林景观",
    "景观设计", "景观", "苗圃", "日化", "日化用品", "用品", "副食",
    "建设", "建筑", "建工", "工程", "工程建设", "工程管理", "安装", "安装工程", "装饰", "装饰工程",
    "装修", "设计", "房地产", "房地产开发", "房地产营销策划", "地产", "置业", "物业", "物业管理", "开发",
    "物流", "运输", "供应链", "货运", "快递", "航运", "港口", "汽车", "汽车销售", "汽配", "汽车配件",
    "贸易", "商贸", "经贸", "外贸", "进出口", "国际贸易", "商务", "销售", "营销", "营销策划", "策划",
    "文化", "文化传播", "文化传媒", "传媒", "出版", "出版传媒", "传播", "广告", "影视", "娱乐", "体育", "旅游", "酒店",
    "餐饮", "管理", "企业管理", "管理咨询", "企业管理咨询", "咨询", "教育", "教育咨询", "培训",
    "服务", "劳务", "人力资源", "家政", "保洁", "清洗", "外墙清洗", "项目", "书店", "超市", "商场",
    "空调", "管业", "照明", "电缆", "线缆", "光伏", "半导体", "微电子", "集成电路", "重工", "机床",
    "企业", "产业", "控股集团", "电子设备", "网安", "互联网", "科学", "综合", "顾问", "纺织品", "珠宝",
    "文具", "展览", "百货", "配件", "部件", "装备", "物资", "石材", "电梯", "铁塔", "水泥", "灯饰", "时装",
    "生态", "数控", "复合", "乐器", "游乐场", "网店", "淘宝店", "加工", "制作", "创意", "修理", "劳务派遣",
    "派遣", "木业", "化妆品", "轮胎", "摩托车", "调味品", "家纺", "定制", "种植", "疏通", "管道", "系统",
    "音乐", "室内", "汽车用品", "模具", "支架", "资产", "水果", "艺术", "书", "动物", "农家", "保洁服务",
    "店", "行", "场", "厂", "坊", "摊", "加工坊", "种植场",
}, key=len, reverse=True))

# Stock-exchange markers on A-share short names (*ST乐通, 万科A) are not part of any name.
_STOCK_MARKERS = re.compile(
    r"^(?:\*?s?\*?st|xd|xr|dr)(?=[\u4e00-\u9fff])|(?<=[\u4e00-\u9fff])-?(?:[ab]|u|w|uw|wd)$"
)
_TOWN = re.compile(r"^[\u4e00-\u9fff]{1,3}?(?:镇|乡|街道)(?=[\u4e00-\u9fff]{2})")
_BRACKETS = re.compile(r"[(\[{【〔〖《<]([^()\[\]{}【】〔〕〖〗《》<>]*)[)\]}】〕〗》>]")
# CJK: Extension A, the basic block, compatibility ideographs and the supplementary-plane extensions
# (opencc maps a few rare traditional characters there).
_CJK_RANGES = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"
_KEEP = re.compile(f"[^0-9a-z{_CJK_RANGES}]+")
_CJK = re.compile(f"[{_CJK_RANGES}]")


@cache
def _converter() -> opencc.OpenCC:
    """The traditional → simplified converter, created once (loading its dictionaries is slow)."""
    return opencc.OpenCC("t2s")


def fold_text(text: str) -> str:
    """NFKC width folding, traditional → simplified, lower case; brackets and punctuation kept."""
    folded = unicodedata.normalize("NFKC", text).strip().lower()
    folded = folded.replace("\u3000", " ")
    if not _CJK.search(folded):
        return folded
    # t2s is not always idempotent (薴 → 苧 → 苎): convert until nothing changes.
    for _ in range(3):
        converted = str(_converter().convert(folded))
        if converted == folded:
            break
        folded = converted
    return folded


def strip_punctuation(text: str) -> str:
    """Keep only letters, digits and CJK characters."""
    return _KEEP.sub("", text)


def has_cjk(text: str) -> bool:
    return _CJK.search(text) is not None


@dataclass(frozen=True, slots=True)
class NormalisedName:
    """The parts of one company name after normalisation; see the module docstring."""

    original: str
    full: str  # folded, no punctuation or brackets: the exact "normalised name" key
    stem: str  # full without legal form, branch, generic words and bracketed region; leading region kept
    core: str  # stem without its leading region(s)
    brand: str  # core without trailing industry words
    region: str | None = None  # canonical short form, e.g. 北京
    legal_form: str | None = None
    is_branch: bool = False
    branch: str | None = None  # e.g. 北京分公司
    generic: tuple[str, ...] = field(default_factory=tuple)

    @property
    def region_info(self) -> Region | None:
        return region_of(self.region) if self.region else None


_SuffixTable = tuple[tuple[int, frozenset[str]], ...]


@cache
def _suffix_table(words: tuple[str, ...]) -> _SuffixTable:
    """Words grouped by length, longest first: a suffix test is one set lookup per length."""
    by_length: dict[int, set[str]] = {}
    for word in words:
        by_length.setdefault(len(word), set()).add(word)
    return tuple((length, frozenset(group)) for length, group in sorted(by_length.items(), reverse=True))


def _strip_suffix(text: str, words: tuple[str, ...], minimum: int = 2) -> tuple[str, str | None]:
    """Remove the longest word of ``words`` that ``text`` ends with, leaving at least ``minimum``
    characters."""
    for length, group in _suffix_table(words):
        if len(text) - length >= minimum and text[-length:] in group:
            return text[:-length], text[-length:]
    return text, None


def generic_word_count(text: str) -> int | None:
    """How many industry/generic words ``text`` is made of (水务 → 1, 科技发展 → 2), None if it has
    anything else."""
    rest, count = text, 0
    while rest:
        rest, word = _strip_suffix(rest, INDUSTRY_WORDS + GENERIC_WORDS, minimum=0)
        if word is None:
            return None
        count += 1
    return count


def is_generic_phrase(text: str) -> bool:
    """True when ``text`` is made only of industry and generic words (水务, 科技发展, 农村商业银行 is not)."""
    return generic_word_count(text) is not None


# More business words, for scoring only (``split_industry_tail``): the two-character endings most
# shared by A-share cores beyond INDUSTRY_WORDS. Kept apart because INDUSTRY_WORDS shapes ``brand``,
# which is a stored blocking key.
BUSINESS_WORDS: tuple[str, ...] = tuple(sorted({
    "动力", "商业", "资源", "航空", "数字", "控制", "研究院", "设计院", "研究", "公路", "高速公路", "高科",
    "铝业", "高新", "智慧", "连锁", "零部件", "汽车零部件", "轴承", "电机", "时尚", "新材", "创新", "合金",
    "数码", "路桥", "节能", "激光", "精工", "新型", "电源", "黄金", "特种", "互联", "生化", "重型", "电路",
    "农化", "视讯", "互动", "防务", "传动", "电工", "光学", "机器", "天然气", "乳业", "交通", "热电", "医学",
    "机器人", "电视", "基因", "铁路", "应用", "精机", "集成", "海运", "气体", "高分子", "安全", "橡塑",
    "钛业", "发电", "啤酒", "工具", "重机", "客车", "生命", "精细", "导航", "在线", "红外", "纤维", "阀门",
    "风能", "风机", "饰件", "自控", "泵业", "检测", "认证", "传感", "测试", "资讯", "海洋", "焊接", "钼业",
    "集装箱", "直升机", "压缩机", "太阳能", "钢结构", "新媒体", "离合器", "物联网", "锂能", "锂业", "飞机",
    "游戏", "器材", "锦纶", "水业", "纺机", "化纤", "农牧", "特殊钢", "高速",
}, key=len, reverse=True))


@lru_cache(maxsize=65536)
def split_industry_tail(text: str) -> tuple[str, str]:
    """``(head, tail)``: ``tail`` is the run of industry and generic words at the end of ``text``, ``head``
    the distinctive rest, at least two characters (轴敦工程管理 → 轴敦, 工程管理; 北京银行 → 北京, 银行).
    Used by scoring only: two names that share nothing but their industry words are different companies."""
    head = text
    while True:
        shorter, word = _strip_suffix(head, _TAIL_WORDS)
        if word is None:
            return head, text[len(head):]
        head = shorter


_TAIL_WORDS = INDUSTRY_WORDS + GENERIC_WORDS + BUSINESS_WORDS


def is_business_phrase(text: str) -> bool:
    """True when ``text`` is made only of industry, generic and business words (特殊钢, 交通建设)."""
    rest = text
    while rest:
        rest, word = _strip_suffix(rest, _TAIL_WORDS, minimum=0)
        if word is None:
            return False
    return True


def _split_branch(text: str) -> tuple[str, str | None]:
    """Split ``XX有限公司北京分公司`` into (``XX有限公司``, ``北京分公司``)."""
    for word in BRANCH_WORDS:
        if text.endswith(word) and len(text) > len(word) + 1:
            head = text[: -len(word)]
            # The branch descriptor starts after the last legal form in the head, if any.
            cut = -1
            for form in LEGAL_FORMS:
                position = head.rfind(form)
                if position > 0:
                    cut = max(cut, position + len(form))
            if cut > 0 and cut < len(text):
                return text[:cut], text[cut:]
            # No legal form: drop a trailing region before the branch word (平安北京办事处).
            for length in range(min(len(head) - 2, 9), 1, -1):
                tail = head[-length:]
                if region_of(tail) is not None:
                    return head[:-length], tail + word
            return head, word
    return text, None


_LEVEL_DEPTH = {"province": 0, "city": 1, "district": 2}


def _more_specific(current: str | None, found: Region) -> str:
    """Keep the most specific of two nested regions (江苏 then 常熟 → 常熟); on a conflict the first."""
    known = region_of(current) if current else None
    if current is None:
        return found.short
    if known is None or regions_conflict(known, found):
        return current
    return found.short if _LEVEL_DEPTH[found.level] > _LEVEL_DEPTH[known.level] else current


@lru_cache(maxsize=16384)
def normalise_company_name(name: str) -> NormalisedName:
    """Normalise one company name; pure and idempotent on ``full``. Cached: candidates loaded from the
    database for one check are often loaded again for the next."""
    folded = fold_text(name)
    region: str | None = None
    generic: list[str] = []
    legal_form: str | None = None

    # Bracketed parts: a region or a legal/generic word is lifted out, anything else is kept inline.
    def bracket(match: re.Match[str]) -> str:
        nonlocal region, legal_form
        inner = strip_punctuation(match.group(1))
        if not inner:
            return ""
        found = region_of(inner)
        if found is not None or inner == "中国":
            region = _more_specific(region, found) if found else (region or inner)
            return ""
        if inner in GENERIC_WORDS:
            generic.append(inner)
            return ""
        if inner in LEGAL_FORMS:
            legal_form = legal_form or inner
            return ""
        return inner

    without_brackets = _BRACKETS.sub(bracket, folded)
    # Stock markers (*ST乐通, 万科A) go after punctuation, so that normalising ``full`` again is stable.
    full = _STOCK_MARKERS.sub("", strip_punctuation(_BRACKETS.sub(lambda m: m.group(1), folded)))
    text = _STOCK_MARKERS.sub("", strip_punctuation(without_brackets))

    text, branch = _split_branch(text)
    # Legal forms, shop forms and generic words, repeatedly, from the end.
    while True:
        text, form = _strip_suffix(text, LEGAL_FORMS + SHOP_FORMS)
        if form is not None:
            legal_form = legal_form or form
            continue
        candidate, word = _strip_suffix(text, GENERIC_WORDS)
        if word is not None and not is_generic_phrase(candidate) and region_of(candidate) is None:
            generic.append(word)
            text = candidate
            continue
        break
    stem = text

    # Leading regions (广东省深圳市XX → XX), unless that leaves nothing distinctive.
    core = stem
    while True:
        prefix = match_region_prefix(core)
        if prefix is None:
            break
        rest = core[len(prefix):]
        # 上海银行, 重庆水务: the region plus one industry word is the name itself.
        # 北京中国建设银行: several words are distinctive enough, the region goes.
        words = generic_word_count(rest)
        if len(rest) < 2 or (words is not None and words <= 1):
            break
        found = region_of(prefix)
        if found is not None:
            region = _more_specific(region, found)
        core = rest

    # A region between the core and the legal form (新月能源石家庄公司 → 新月能源, 石家庄).
    for length in range(min(len(core) - 2, 9), 1, -1):
        found = region_of(core[-length:])
        if found is None or (found.level == "district" and core[-length:] != found.name):
            continue  # short district names at the end (日出东方: 东方市) are too ambiguous
        if not is_generic_phrase(core[:-length]):
            region = _more_specific(region, found)
            core = core[:-length]
            break
    town = _TOWN.match(core) if region is not None else None
    brand = core[town.end():] if town is not None else core
    while True:
        shorter, word = _strip_suffix(brand, INDUSTRY_WORDS + GENERIC_WORDS)
        if word is None or region_of(shorter) is not None:
            break
        brand = shorter

    return NormalisedName(
        original=name,
        full=full,
        stem=stem,
        core=core,
        brand=brand,
        region=region,
        legal_form=legal_form,
        is_branch=branch is not None,
        branch=branch,
        generic=tuple(generic),
    )


_EN_LEGAL = frozenset({
    "co", "company", "ltd", "limited", "inc", "incorporated", "corp", "corporation", "plc", "llc", "gmbh",
    "sa", "ag", "the", "and", "of", "stock", "share", "shares", "joint", "jsc", "lp", "llp", "pte", "bhd",
})
_EN_GENERIC = frozenset({
    "group", "holding", "holdings", "technology", "technologies", "tech", "china", "chinese", "international",
    "industry", "industries", "industrial", "development", "science", "sci", "hi", "high", "new",
})


def normalise_english_name(name: str) -> tuple[str, ...]:
    """Distinctive lower-case tokens of an English company name, legal words removed, in order.

    ``"Ping An Bank Co., Ltd."`` → ``("ping", "an", "bank")``.
    """
    folded = unicodedata.normalize("NFKC", name).lower().replace("&", " and ")
    tokens = re.split(r"[^0-9a-z]+", folded)
    return tuple(token for token in tokens if token and token not in _EN_LEGAL)


def english_key_tokens(tokens: tuple[str, ...]) -> tuple[str, ...]:
    """The tokens worth indexing: not generic words, not region names in pinyin, at least 3 letters."""
    return tuple(
        token for token in tokens
        if token not in _EN_GENERIC and token not in _pinyin_regions() and len(token) >= 3
    )


# Industry words of English company names: shared by unrelated companies, so not evidence on their own.
_EN_INDUSTRY = frozenset({
    "bank", "banking", "insurance", "securities", "trust", "finance", "financial", "investment", "capital",
    "electric", "electrical", "electronic", "electronics", "electron", "power", "energy", "new", "materials",
    "material", "chemical", "chemicals", "pharmaceutical", "pharmaceuticals", "pharma", "medical", "biological",
    "bio", "biotech", "biotechnology", "health", "healthcare", "food", "foods", "beverage", "agriculture",
    "agricultural", "machinery", "machine", "equipment", "engineering", "construction", "building", "real",
    "estate", "property", "properties", "information", "software", "network", "networks", "communication",
    "communications", "telecom", "digital", "data", "intelligent", "smart", "automation", "auto", "automobile",
    "automotive", "motor", "motors", "parts", "logistics", "transportation", "transport", "shipping", "port",
    "media", "culture", "cultural", "education", "tourism", "environmental", "environment", "protection",
    "water", "gas", "oil", "petroleum", "mining", "resources", "steel", "metal", "metals", "nonferrous",
    "textile", "textiles", "garment", "apparel", "paper", "packaging", "printing", "trading", "trade",
    "commerce", "commercial", "services", "service", "management", "consulting", "systems", "system",
    "semiconductor", "optoelectronic", "optoelectronics", "photoelectric", "precision", "instrument",
    "instruments", "device", "devices", "products", "product", "manufacturing", "industrial", "heavy", "light",
    "cable", "cables", "wire", "glass", "ceramics", "cement", "plastic", "plastics", "rubber", "tire",
    "biopharmaceutical", "drug", "drugs", "hospital", "entertainment", "film", "sports", "home", "furniture",
    "appliance", "appliances", "lighting", "solar", "battery", "infrastructure", "urban",
    "investments", "enterprise", "enterprises", "design", "research", "institute", "expressway", "highway",
    "airport", "airlines", "airline", "railway", "railways", "road", "bridge", "fibre", "fiber", "liquor",
})


def english_distinctive_tokens(tokens: tuple[str, ...]) -> tuple[str, ...]:
    """The tokens that tell one company from another: no generic, industry or region words (scoring)."""
    return tuple(token for token in tokens if token not in _EN_GENERIC and token not in _EN_INDUSTRY
                 and token not in _pinyin_regions())


@cache
def _pinyin_regions() -> frozenset[str]:
    names = {region.short for region in regions_by_name().values() if region.level != "district"}
    return frozenset("".join(lazy_pinyin(name)) for name in names)
