"""Build the demo's visits and contacts: four months of history for every active key account manager and the
customers they own, then today's plan through the services (visits to check in at, one already checked in).

History is written in bulk — the same rows, audit events (one batch per person), timeline entries and
follow-up times the services write — because a few thousand service calls would slow `kamguard demo` down.
How often a customer is seen follows its tier (A: every ~2 weeks, B: monthly, C: every ~2 months), with
calls, WeChat messages, e-mails and meetings in between. Visits are checked in near the centre of the
customer's area, except a few made far away (flagged) and a few without location permission; about one in
twelve was accompanied by the manager's supervisor (陪访), confirmed.

Reproducible: random.Random(seed), dates relative to timezone.localdate().
"""

from __future__ import annotations

import datetime as dt
import math
import random
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone

from kamguard.activities.domain.geo import Reference, assess
from kamguard.activities.models import Activity, Kind, Status
from kamguard.activities.services import visit_check_in, visit_plan
from kamguard.core.audit import AuditEntry, audit_record_many
from kamguard.customers.models import Contact, Customer, CustomerStatus, TimelineEntry
from kamguard.customers.services.followup import customer_followup_touch
from kamguard.org.domain.roles import Role
from kamguard.org.models import Region, User

if TYPE_CHECKING:
    from kamguard.demo.build import BuiltWorld

HISTORY_DAYS = 120
MAX_CUSTOMERS_PER_MANAGER = 25
VISIT_EVERY_DAYS = {"A": 14, "B": 30, "C": 60}
CONTACTS_PER_VISIT = {"A": 3, "B": 2, "C": 1.5}
FAR_VISITS = 6  # far-away check-ins in the history
DENIED_SHARE = 0.03  # visits checked in without location permission
ACCOMPANIED_SHARE = 1 / 12
FAR_PLACES = ((39.9042, 116.4074), (30.5728, 104.0668), (22.5431, 114.0579), (34.3416, 108.9398))

PURPOSES = ("介绍新一代产品方案", "了解下季度采购计划", "商务谈判：年度框架协议价格", "回访售后问题处理情况",
            "与技术负责人对接试用方案", "拜访新任采购总监", "催收上月到期回款", "递交年度合作方案",
            "陪同客户参观样板项目", "了解竞争对手报价情况")
OUTCOMES = ("客户认可方案，同意安排技术交流", "采购计划推迟到下季度，保持跟进", "价格仍有分歧，客户要求再降 3%",
            "售后问题已解决，客户满意", "客户同意小批量试用", "确认本月底前支付上月货款",
            "新任采购总监关注交付周期，需补充资料", "竞品报价更低，客户希望我们给出综合成本对比",
            "客户高层有意向签订年度框架协议")
NEXT_STEPS = ("下周三前发送技术方案和报价", "月底再次拜访，约见技术负责人", "申请特价审批后回复客户",
              "两周后电话回访使用情况", "安排试用设备发货并跟踪", "财务确认到账后告知客户",
              "补充交付周期说明并预约下次拜访", "整理成本对比表，下周面谈", "起草框架协议，提交法务审核")
CONTACT_TEXTS = {
    Kind.CALL: ("电话沟通订单交付时间", "电话确认下次拜访时间", "电话跟进报价反馈", "电话提醒回款", "电话了解试用情况"),
    Kind.WECHAT: ("微信发送产品资料", "微信沟通技术参数", "微信确认会议安排", "微信节日问候并了解近况"),
    Kind.EMAIL: ("邮件发送正式报价单", "邮件发送合同草稿", "邮件回复技术问题", "邮件发送会议纪要"),
    Kind.MEETING: ("线上会议：方案评审", "与客户技术团队视频会议", "参加客户供应商大会"),
}
CONTACT_WEIGHTS = ((Kind.CALL, 45), (Kind.WECHAT, 30), (Kind.EMAIL, 15), (Kind.MEETING, 10))


@dataclass
class BuiltActivities:
    visits: int = 0
    contacts: int = 0
    far: int = 0
    denied: int = 0
    accompanied: int = 0
    planned_today: int = 0
    checked_in_today: int = 0
    by_status: dict[str, int] = field(default_factory=dict)


def _moment(day: dt.date, rng: random.Random, start_hour: int = 9, end_hour: int = 18) -> dt.datetime:
    minute = rng.randint(start_hour * 60, end_hour * 60 - 1)
    return timezone.make_aware(dt.datetime.combine(day, dt.time(minute // 60, minute % 60)))


def _references() -> dict[int, Reference]:
    """Every region with coordinates, as a check-in reference (a customer's region, else its parent's)."""
    rows = {pk: (lat, lon, level, parent, name) for pk, lat, lon, level, parent, name in Region.objects.values_list(
        "pk", "latitude", "longitude", "level", "parent_id", "name")}
    found: dict[int, Reference] = {}
    for pk in rows:
        node: int | None = pk
        hops = 0
        while node is not None and hops < 4:
            lat, lon, level, parent, name = rows[node]
            if lat is not None and lon is not None:
                found[pk] = Reference(latitude=lat, longitude=lon, level=level, name=name)
                break
            node, hops = parent, hops + 1
    return found


def _near(ref: Reference, rng: random.Random) -> tuple[float, float]:
    """A point within ~4 km of the reference."""
    meters = rng.uniform(100, 4000)
    angle = rng.uniform(0, 2 * math.pi)
    dlat = meters * math.cos(angle) / 111_000
    dlon = meters * math.sin(angle) / (111_000 * max(0.2, math.cos(math.radians(ref.latitude))))
    return round(ref.latitude + dlat, 6), round(ref.longitude + dlon, 6)


def _accompanier(manager: User, cache: dict[int, int | None]) -> int | None:
    """The nearest supervisor up the manager's reporting line."""
    if manager.pk in cache:
        return cache[manager.pk]
    node = manager.supervisor
    found = None
    hops = 0
    while node is not None and hops < 4:
        if node.is_active and Role.SUPERVISOR in node.roles:
            found = node.pk
            break
        node, hops = node.supervisor, hops + 1
    cache[manager.pk] = found
    return found


def _managers(world: BuiltWorld) -> list[User]:
    keys = [p.key for p in world.plan.people if not p.is_bulk and "manager" in p.roles and p.left_on is None]
    ids = [world.people[k].pk for k in keys if k in world.people]
    return list(User.objects.filter(pk__in=ids, is_active=True).select_related("supervisor").order_by("pk"))


def activities_build(world: BuiltWorld, *, seed: int | None = None) -> BuiltActivities:
    started = time.perf_counter()
    rng = random.Random(world.plan.seed * 7919 + 17 if seed is None else seed)  # noqa: S311 - demo data
    built = BuiltActivities()
    today = timezone.localdate()
    now = timezone.now()
    references = _references()
    managers = _managers(world)
    accompaniers: dict[int, int | None] = {}
    contacts_of: dict[int, list[int]] = defaultdict(list)
    planned: list[Activity] = []
    contact_links: list[tuple[int, list[int]]] = []  # index in `planned`, contact ids
    with transaction.atomic():
        books: dict[int, list[Customer]] = {}
        for manager in managers:
            books[manager.pk] = list(Customer.objects.filter(owner=manager, status=CustomerStatus.ACTIVE).order_by(
                "pk")[:MAX_CUSTOMERS_PER_MANAGER])
        all_ids = [c.pk for book in books.values() for c in book]
        for contact_id, customer_id in Contact.objects.filter(customer_id__in=all_ids, is_active=True).values_list(
                "pk", "customer_id"):
            contacts_of[customer_id].append(contact_id)
        total_visits_guess = sum(max(1, HISTORY_DAYS // VISIT_EVERY_DAYS.get(c.tier, 60))
                                 for book in books.values() for c in book)
        far_picks = set(rng.sample(range(max(total_visits_guess, FAR_VISITS)), FAR_VISITS))
        visit_number = 0
        for manager in managers:
            for customer in books[manager.pk]:
                owned_from = max(customer.owned_since or now, now - dt.timedelta(days=HISTORY_DAYS))
                first_day = timezone.localtime(owned_from).date() + dt.timedelta(days=1)
                every = VISIT_EVERY_DAYS.get(customer.tier, 60)
                day = first_day + dt.timedelta(days=rng.randint(0, every // 2))
                ref = references.get(customer.region_id or 0)
                # The customers' build dated each one's last follow-up (a few near or past the pool's reclaim
                # limit, on purpose): the visit history ends before it, so it stays the last contact.
                until = today if customer.last_followup_at is None else min(
                    today, timezone.localtime(customer.last_followup_at).date())
                while day < until:
                    if day.weekday() < 5:
                        moment = _moment(day, rng)
                        lat: float | None
                        lon: float | None
                        denied = False
                        if visit_number in far_picks:
                            lat, lon = rng.choice(FAR_PLACES)
                        elif rng.random() < DENIED_SHARE:
                            lat = lon = None
                            denied = True
                        elif ref is not None:
                            lat, lon = _near(ref, rng)
                        else:
                            lat, lon = 31.2304 + rng.uniform(-.05, .05), 121.4737 + rng.uniform(-.05, .05)
                        result = assess(latitude=lat, longitude=lon, denied=denied, reference=ref)
                        duration = rng.choice((30, 45, 60, 60, 90, 120))
                        companion = _accompanier(manager, accompaniers) if rng.random() < ACCOMPANIED_SHARE else None
                        planned.append(Activity(
                            user=manager, customer=customer, kind=Kind.VISIT, status=Status.DONE,
                            planned_on=day - dt.timedelta(days=rng.randint(0, 10)) if rng.random() < .6 else day,
                            happened_at=moment, checked_in_at=moment,
                            checked_out_at=moment + dt.timedelta(minutes=duration),
                            checkin_latitude=lat if not denied else None,
                            checkin_longitude=lon if not denied else None,
                            checkin_accuracy_m=None if denied else rng.choice((12, 20, 35, 65)),
                            distance_m=result.distance_m, far_threshold_m=result.threshold_m, is_far=result.is_far,
                            location_status=result.location_status, accompanied_by_id=companion,
                            accompaniment_confirmed_at=moment + dt.timedelta(hours=rng.randint(2, 30))
                            if companion else None,
                            summary=rng.choice(PURPOSES), outcome=rng.choice(OUTCOMES),
                            next_step=rng.choice(NEXT_STEPS), duration_min=duration, recorded_by=manager))
                        people = contacts_of.get(customer.pk) or []
                        if people:
                            contact_links.append((len(planned) - 1, rng.sample(people, min(len(people),
                                                                                           rng.randint(1, 2)))))
                        built.visits += 1
                        built.far += int(result.is_far)
                        built.denied += int(denied)
                        built.accompanied += int(companion is not None)
                        visit_number += 1
                        # contacts between this visit and the next
                        count = CONTACTS_PER_VISIT.get(customer.tier, 1.5)
                        for _ in range(int(count) + (1 if rng.random() < count % 1 else 0)):
                            when_day = day + dt.timedelta(days=rng.randint(1, max(1, every - 1)))
                            if when_day >= until:
                                continue
                            kind = rng.choices([k for k, _w in CONTACT_WEIGHTS], [w for _k, w in CONTACT_WEIGHTS])[0]
                            planned.append(Activity(
                                user=manager, customer=customer, kind=kind, status=Status.DONE,
                                happened_at=_moment(when_day, rng, 8, 21), summary=rng.choice(CONTACT_TEXTS[kind]),
                                duration_min=rng.choice((5, 10, 15, 20, 30)) if kind in (Kind.CALL, Kind.MEETING)
                                else None, recorded_by=manager))
                            built.contacts += 1
                    day += dt.timedelta(days=max(3, int(rng.gauss(every, every / 5))))
        created = Activity.objects.bulk_create(planned, batch_size=1000)
        through = Activity.contacts.through
        through.objects.bulk_create([through(activity_id=created[i].pk, contact_id=c) for i, ids in contact_links
                                     for c in ids], batch_size=1000)
        by_user: dict[int, list[Activity]] = defaultdict(list)
        for activity in created:
            by_user[activity.user_id].append(activity)
        for user_id, rows in by_user.items():
            actor = User.objects.get(pk=user_id)
            audit_record_many(actor=actor, entries=[AuditEntry(
                action="activities.visit.recorded" if a.kind == Kind.VISIT else "activities.contact.recorded",
                obj=a, object_label=f"{a.get_kind_display()} · {a.customer.name}",
                changes={"kind": {"before": None, "after": a.kind},
                         "happened_at": {"before": None, "after": a.happened_at}}) for a in rows])
        entries = []
        for a in created:
            assert a.happened_at is not None
            if a.kind == Kind.VISIT:
                summary = f"拜访完成：{a.outcome}——下一步：{a.next_step}"
                if a.is_far:
                    summary = f"拜访签到——距客户所在地区 {round((a.distance_m or 0) / 1000, 1)} 公里（异地）；{summary}"
                entries.append(TimelineEntry(customer_id=a.customer_id, occurred_at=a.happened_at,
                                             kind="activities.visit_done", actor_id=a.user_id, summary=summary[:400],
                                             data={"activity": a.pk, "is_far": a.is_far,
                                                   "location_status": a.location_status}))
            else:
                entries.append(TimelineEntry(customer_id=a.customer_id, occurred_at=a.happened_at,
                                             kind=f"activities.{a.kind}", actor_id=a.user_id,
                                             summary=f"{a.get_kind_display()}: {a.summary}"[:400],
                                             data={"activity": a.pk}))
        TimelineEntry.objects.bulk_create(entries, batch_size=1000)
        customer_followup_touch(touches=[(a.customer_id, a.happened_at) for a in created if a.happened_at])
    _today_build(managers, books, rng, built, today)
    built.by_status = {s: Activity.objects.filter(status=s).count() for s in Status.values}
    world.timings["activities"] = time.perf_counter() - started
    return built


def _today_build(managers: list[User], books: dict[int, list[Customer]], rng: random.Random,
                 built: BuiltActivities, today: dt.date) -> None:
    """Through the services: today's visits (one to three per manager), a few for the coming days, and for every
    third manager one visit already checked in this morning."""
    references = _references()
    for index, manager in enumerate(managers):
        book = books.get(manager.pk) or []
        if not book:
            continue
        # Not the customers the demo left near or past the pool's reclaim limit: a check-in today would be
        # their follow-up, and the reclaim story would lose them.
        recent = timezone.now() - dt.timedelta(days=21)
        followed = [c for c in book if c.last_followup_at is None or c.last_followup_at >= recent] or book
        todays = rng.sample(followed, min(len(followed), rng.randint(1, 3)))
        for customer in todays:
            visit = visit_plan(actor=manager, customer_id=customer.pk, planned_on=today, purpose=rng.choice(PURPOSES))
            built.planned_today += 1
            if index % 3 == 0 and customer is todays[0]:
                ref = references.get(customer.region_id or 0)
                lat, lon = _near(ref, rng) if ref else (None, None)
                at = min(timezone.now() - dt.timedelta(minutes=5),
                         timezone.make_aware(dt.datetime.combine(today, dt.time(9, 30))))
                visit_check_in(actor=manager, activity_id=visit.pk, latitude=lat, longitude=lon,
                               accuracy_m=25 if lat is not None else None, location_denied=lat is None,
                               at=max(at, timezone.make_aware(dt.datetime.combine(today, dt.time(0, 1)))))
                built.checked_in_today += 1
        for customer in rng.sample(book, min(len(book), 2)):
            visit_plan(actor=manager, customer_id=customer.pk, planned_on=today + dt.timedelta(days=rng.randint(1, 10)),
                       purpose=rng.choice(PURPOSES))


def summary_lines(built: BuiltActivities) -> list[str]:
    return [f"{built.visits} visits ({built.far} far away, {built.denied} without location permission, "
            f"{built.accompanied} accompanied) and {built.contacts} other contacts over {HISTORY_DAYS} days; "
            f"{built.planned_today} visits planned today, {built.checked_in_today} checked in"]
