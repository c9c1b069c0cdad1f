"""Allocation fixtures on top of the organisation personas (see the root conftest).

`alloc`: a company pool, a pool for team Shanghai A (first come), industries, and the default rule set
(active version 1):
    key-a     tier A                      → henry (person)
    shanghai  region within 310000        → team Shanghai A (alice, bob, sue), round-robin
    sichuan   region within 510000        → team Chengdu (carol), capacity
    fallback                              → the company pool
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import pytest

from kamguard.allocation.models import RuleSet, RuleSetVersion
from kamguard.allocation.services.people import team_setting_save
from kamguard.allocation.services.rulesets import rule_set_create, rule_set_version_activate
from kamguard.customers.models import Pool
from kamguard.customers.services.pools import pool_member_set, pool_save
from kamguard.org.models import Industry

# Distinct company names (the duplicate check must see them as different companies).
COMPANY_NAMES = [
    "上海申华精密机械有限公司", "上海东海船舶配件有限公司", "上海徐汇云端软件有限公司",
    "上海黄浦江畔餐饮管理有限公司", "上海闵行光伏材料有限公司", "上海松江纺织印染有限公司", "上海嘉定汽车零部件有限公司",
    "上海宝山钢构工程有限公司", "上海金山石化助剂有限公司", "上海崇明生态农业有限公司", "上海青浦会展服务有限公司",
    "上海奉贤日化用品有限公司", "上海长宁航空服务有限公司", "上海静安文化传媒有限公司", "上海杨浦创新孵化器有限公司",
    "上海普陀冷链仓储有限公司", "上海虹口建筑设计院有限公司", "上海临港海洋装备有限公司", "上海外高桥保税贸易有限公司",
    "上海张江生物医药有限公司", "上海漕河泾微电子有限公司", "上海陆家嘴资产评估有限公司", "上海五角场教育咨询有限公司",
]
_counter = itertools.count()


def lead(name: str | None = None, **fields: Any) -> dict[str, Any]:
    """A lead's fields; a fresh distinct company name unless given."""
    if name is None:
        index = next(_counter)
        name = COMPANY_NAMES[index % len(COMPANY_NAMES)] + ("" if index < len(COMPANY_NAMES) else f"{index}号分公司")
    return {"name": name, **fields}


@dataclass
class Alloc:
    pool: Pool
    team_pool: Pool
    rule_set: RuleSet
    version: RuleSetVersion

    def rules(self, world: Any) -> dict[str, Any]:
        return base_rules(world, self.pool)


def base_rules(world: Any, pool: Pool) -> dict[str, Any]:
    return {
        "rules": [
            {"key": "key-a", "name": "A 类大客户", "conditions": [{"field": "tier", "operator": "eq", "value": "A"}],
             "target": {"kind": "person", "id": world.henry.pk}},
            {"key": "shanghai", "name": "上海", "conditions": [
                {"field": "region", "operator": "within", "value": "310000"}],
             "target": {"kind": "team", "id": world.team_a.pk, "strategy": "round_robin"}},
            {"key": "sichuan", "name": "四川", "conditions": [
                {"field": "region", "operator": "within", "value": "510000"}],
             "target": {"kind": "team", "id": world.team_cd.pk, "strategy": "capacity"}},
        ],
        "fallback": {"kind": "pool", "id": pool.pk},
    }


@pytest.fixture(autouse=True)
def _fresh_cache(db: None) -> None:
    """Rate-limit counters start at zero (the cache is a database table, not cleared by a flush)."""
    from django.core.cache import cache

    cache.clear()


def regions_ensure() -> None:
    """Transactional tests flush the tables, the regions the migration loaded too: load them again."""
    from kamguard.org.models import Region
    from kamguard.org.regions import official_regions

    if Region.objects.filter(code="310115").exists():
        return
    by_code: dict[str, Region] = {}
    for code, name, level, parent, lng, lat in official_regions():
        if code[:2] not in ("31", "51", "33", "44"):
            continue
        by_code[code] = Region.objects.create(code=code, name=name, level=level, parent=by_code.get(parent or ""),
                                              longitude=lng, latitude=lat)


@pytest.fixture
def alloc(world) -> Alloc:
    regions_ensure()
    pool = pool_save(actor=None, name="公司公海")
    team_pool = pool_save(actor=None, name="上海一组抢单池")
    for person in (world.alice, world.bob, world.sue, world.henry, world.carol):
        pool_member_set(actor=None, pool_id=pool.pk, user=person, is_member=True)
    for person in (world.alice, world.bob, world.sue):
        pool_member_set(actor=None, pool_id=team_pool.pk, user=person, is_member=True)
    team_setting_save(actor=None, team=world.team_a, pool=team_pool)
    Industry.objects.get_or_create(code="C39", defaults={"name": "计算机、通信和其他电子设备制造业"})
    Industry.objects.get_or_create(code="I65", defaults={"name": "软件和信息技术服务业"})
    rule_set = rule_set_create(actor=world.adam, name="默认分配规则", is_default=True, rules=base_rules(world, pool),
                               note="first version")
    version = rule_set.versions.get()
    version = rule_set_version_activate(actor=world.adam, version_id=version.pk)
    return Alloc(pool=pool, team_pool=team_pool, rule_set=rule_set, version=version)
