"""Real-looking Chinese people for the demo: names, pinyin usernames, mobile numbers, e-mail addresses.

Pure Python (pypinyin and phonenumbers, no Django) and deterministic: the same seed gives the same
people in the same order. Surnames are drawn by their real frequency, so 王, 李, 张, 刘 and 陈 are
common and compound surnames (欧阳, 司马, 上官, 诸葛) are rare; given names are one or two characters
from pools that read as typical male or female names.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import phonenumbers
from pypinyin import lazy_pinyin

# (surname, pinyin, weight): weights roughly follow the national frequency ranking. The pinyin is
# spelled out because several surnames read differently from the common word (单 Shàn, 曾 Zēng, 解 Xiè).
SURNAMES: tuple[tuple[str, str, int], ...] = (
    ("王", "wang", 72), ("李", "li", 70), ("张", "zhang", 66), ("刘", "liu", 53), ("陈", "chen", 45),
    ("杨", "yang", 31), ("黄", "huang", 24), ("赵", "zhao", 20), ("吴", "wu", 19), ("周", "zhou", 18),
    ("徐", "xu", 14), ("孙", "sun", 13), ("马", "ma", 12), ("朱", "zhu", 11), ("胡", "hu", 11),
    ("郭", "guo", 10), ("何", "he", 9), ("林", "lin", 9), ("高", "gao", 9), ("罗", "luo", 8),
    ("郑", "zheng", 8), ("梁", "liang", 7), ("谢", "xie", 6), ("宋", "song", 6), ("唐", "tang", 6),
    ("许", "xu", 5), ("邓", "deng", 5), ("冯", "feng", 5), ("韩", "han", 5), ("曹", "cao", 5),
    ("曾", "zeng", 4), ("彭", "peng", 4), ("萧", "xiao", 4), ("蔡", "cai", 4), ("潘", "pan", 4),
    ("田", "tian", 4), ("董", "dong", 4), ("袁", "yuan", 4), ("于", "yu", 4), ("余", "yu", 3),
    ("叶", "ye", 3), ("蒋", "jiang", 3), ("杜", "du", 3), ("苏", "su", 3), ("魏", "wei", 3),
    ("程", "cheng", 3), ("吕", "lv", 3), ("丁", "ding", 3), ("沈", "shen", 3), ("任", "ren", 3),
    ("姚", "yao", 2), ("卢", "lu", 2), ("傅", "fu", 2), ("钟", "zhong", 2), ("姜", "jiang", 2),
    ("崔", "cui", 2), ("谭", "tan", 2), ("陆", "lu", 2), ("范", "fan", 2), ("汪", "wang", 2),
    ("廖", "liao", 2), ("石", "shi", 2), ("金", "jin", 2), ("韦", "wei", 2), ("贾", "jia", 2),
    ("夏", "xia", 2), ("付", "fu", 2), ("方", "fang", 2), ("邹", "zou", 2), ("熊", "xiong", 2),
    ("白", "bai", 2), ("孟", "meng", 2), ("秦", "qin", 2), ("邱", "qiu", 2), ("侯", "hou", 2),
    ("江", "jiang", 2), ("尹", "yin", 2), ("薛", "xue", 2), ("闫", "yan", 2), ("段", "duan", 2),
    ("雷", "lei", 2), ("龙", "long", 1), ("黎", "li", 1), ("史", "shi", 1), ("陶", "tao", 1),
    ("贺", "he", 1), ("毛", "mao", 1), ("郝", "hao", 1), ("顾", "gu", 1), ("龚", "gong", 1),
    ("邵", "shao", 1), ("万", "wan", 1), ("覃", "qin", 1), ("武", "wu", 1), ("钱", "qian", 1),
    ("单", "shan", 1), ("解", "xie", 1),
    # Compound surnames: rare, but a demo without an 欧阳 looks made up.
    ("欧阳", "ouyang", 1), ("司马", "sima", 1), ("上官", "shangguan", 1), ("诸葛", "zhuge", 1),
)

MALE_CHARACTERS = (
    "伟强磊军勇杰涛明超刚平辉鹏华飞鑫波斌宇浩凯健俊帆帅旭宁龙林峰博志文亮成东海晨阳"
    "建国永兵春雷坤毅锋彬轩睿哲航昊然德才"
)
FEMALE_CHARACTERS = (
    "芳娜敏静丽艳娟霞秀玲婷雪慧颖琳晶欣怡佳倩洁萍燕红梅丹蕾薇璐瑶晓雅琪思梦悦月楠"
    "凤兰英桂婉妍琦莹茜岚"
)
# First characters of two-character given names, shared by both.
LEADING_CHARACTERS = "子梓思一嘉家俊浩宇晓雨欣志建国文海明永春立少新天佳诗若"

# Mobile prefixes that phonenumbers accepts for mainland China (China Mobile, Unicom, Telecom).
MOBILE_PREFIXES = (
    "130", "131", "132", "133", "134", "135", "136", "137", "138", "139", "150", "151", "152", "153",
    "155", "156", "157", "158", "159", "166", "176", "177", "178", "180", "181", "182", "183", "184",
    "185", "186", "187", "188", "189", "198", "199",
)

EMAIL_DOMAIN = "example.com"  # RFC 2606: never a real mailbox.


@dataclass(frozen=True)
class Person:
    full_name: str
    username: str
    email: str
    phone: str
    is_female: bool


class PeopleGenerator:
    """Draws distinct people: no two share a username or a phone, and full names repeat only when unavoidable."""

    def __init__(self, seed: int, *, taken_usernames: set[str] | frozenset[str] = frozenset()) -> None:
        self._random = random.Random(seed)  # noqa: S311 - reproducible demo data, not secrets
        self._surnames = [s for s, _, _ in SURNAMES]
        self._surname_pinyin = {s: p for s, p, _ in SURNAMES}
        self._weights = [w for _, _, w in SURNAMES]
        self._usernames = {u.lower() for u in taken_usernames}
        self._phones: set[str] = set()
        self._full_names: set[str] = set()

    def person(self) -> Person:
        full_name, surname, given, is_female = self._distinct_name()
        username = self._username(surname, given)
        return Person(full_name=full_name, username=username, email=f"{username}@{EMAIL_DOMAIN}",
                      phone=self.mobile(), is_female=is_female)

    def mobile(self) -> str:
        """An 11-digit mainland mobile number, valid for phonenumbers, never repeated."""
        while True:
            number = self._random.choice(MOBILE_PREFIXES) + f"{self._random.randrange(10**8):08d}"
            if number in self._phones:
                continue
            if phonenumbers.is_valid_number(phonenumbers.parse(number, "CN")):
                self._phones.add(number)
                return number

    def contact(self) -> tuple[str, str, bool]:
        """A customer's contact: full name, its toneless pinyin (``zhangwei``) and whether female.

        Namesakes are allowed (a large customer base has many 张伟), so drawing stays fast at any scale;
        the phone comes from `mobile()` and is still never repeated.
        """
        surname = self._random.choices(self._surnames, weights=self._weights)[0]
        is_female = self._random.random() < 0.45
        pool = FEMALE_CHARACTERS if is_female else MALE_CHARACTERS
        if self._random.random() < 0.3:
            given = self._random.choice(pool)
        else:
            given = self._random.choice(LEADING_CHARACTERS + pool) + self._random.choice(pool)
        return surname + given, self._surname_pinyin[surname] + "".join(lazy_pinyin(given)).lower(), is_female

    def _distinct_name(self) -> tuple[str, str, str, bool]:
        for _ in range(50):
            surname = self._random.choices(self._surnames, weights=self._weights)[0]
            is_female = self._random.random() < 0.45
            pool = FEMALE_CHARACTERS if is_female else MALE_CHARACTERS
            if self._random.random() < 0.3:
                given = self._random.choice(pool)
            else:
                given = self._random.choice(LEADING_CHARACTERS + pool) + self._random.choice(pool)
                if given[0] == given[1] and self._random.random() < 0.7:
                    continue  # reduplicated names (娜娜) exist, but not that often
            full_name = surname + given
            if full_name not in self._full_names:
                self._full_names.add(full_name)
                return full_name, surname, given, is_female
        # A large organisation has namesakes; usernames still differ by a number.
        return full_name, surname, given, is_female

    def _username(self, surname: str, given: str) -> str:
        base = f"{self._surname_pinyin[surname]}.{''.join(lazy_pinyin(given))}".lower()
        candidate, number = base, 1
        while candidate in self._usernames:
            number += 1
            candidate = f"{base}{number}"
        self._usernames.add(candidate)
        return candidate


def industry_code(name: str) -> str:
    """A stable code for an industry name, from its pinyin: 软件服务 → ruan_jian_fu_wu."""
    return "_".join(lazy_pinyin(name)).lower()[:32]
