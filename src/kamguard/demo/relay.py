"""Build the demo's information relay forms (信息传递单): the administrator's routing rules (customer demands
and delivery matters to the specialist post — the team's own specialist receives them —, complaints, competitor
moves and price questions to the sales director post — the region's supervisor —, "other" routed by nobody:
the provider chooses), then about three months of forms from every active manager, written as a key account
manager writes them, about the customers they own. Most are received, handled and fed back in time; some
steps are late; the last days' forms are still open, and a few older ones were never handled (overdue).

Volume goes in with bulk inserts; the audit trail gets the events the services would have written (send and
each step, by the person who did it), and the customers' timelines their entries.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.utils import timezone

from kamguard.core.audit import AuditEntry, audit_record_many
from kamguard.customers.models import Customer, CustomerStatus, TimelineEntry
from kamguard.org.domain.roles import Role
from kamguard.org.models import Post, User
from kamguard.relay.domain.timing import Limits, dues_for, number_format
from kamguard.relay.models import RelayCategory, RelayCounter, RelayForm, RelayStatus, RoutingRule
from kamguard.relay.services import _prefix, route, rule_save

if TYPE_CHECKING:
    from kamguard.demo.build import BuiltWorld

DAYS = 90
SEED = 2026_03
ROUTES = (("demand", "KAS"), ("delivery", "KAS"), ("complaint", "DIR"), ("competitor", "DIR"), ("price", "DIR"))
WEIGHTS = (("demand", 30), ("delivery", 18), ("complaint", 10), ("competitor", 18), ("price", 14), ("other", 10))

CONTENT: dict[str, tuple[str, ...]] = {
    "demand": ("{c}采购部透露下季度计划扩产两条产线，预计新增设备采购约300万元，希望月底前拿到初步方案。",
               "{c}技术负责人提出现有型号能耗偏高，询问是否有节能型替代产品及改造报价。",
               "{c}计划明年统一集团供应商，要求我司提供近三年供货业绩和资质文件。",
               "{c}新项目需要定制规格，对方希望两周内安排技术交流。"),
    "delivery": ("{c}反馈上批订单有两箱外包装破损，要求补发并说明原因。",
                 "{c}要求本月订单提前一周交货，需确认生产排期能否满足。",
                 "{c}财务通知本月付款将延后至下月10日，原因是内部审批流程调整。",
                 "{c}对账发现发票金额与订单不一致，差额约1.2万元，需财务核对。"),
    "complaint": ("{c}设备部投诉售后响应慢，报修后48小时无人上门，对方情绪较大。",
                  "{c}质量部投诉最近一批产品合格率下降，要求提交整改报告。",
                  "{c}采购经理反映我司业务员多次更换，对接不连续，希望固定对接人。"),
    "competitor": ("竞争对手在{c}报价比我司低约8%，并承诺免费延保一年。",
                   "{c}透露某竞品厂家正在做免费试用，已在其二车间安装两台样机。",
                   "竞品本月在{c}所在园区举办技术推介会，邀请了多家我司客户参加。"),
    "price": ("{c}要求年度框架协议价格下调5%，否则考虑引入第二供应商。",
              "原材料涨价，{c}询问我司下季度是否调价，希望提前一个月通知。",
              "{c}招标要求报含税含运价，需确认区域运费政策。"),
    "other": ("{c}新任总经理上任，建议安排高层拜访，重新建立关系。",
              "{c}下月举办供应商大会，邀请我司参加并做15分钟介绍。",
              "{c}所在行业协会将发布新标准，可能影响我司产品认证。"),
}
SUGGESTIONS: dict[str, tuple[str, ...]] = {
    "demand": ("请技术部一周内出方案，我负责约对方技术负责人。", "建议由专员先准备资质文件包。", ""),
    "delivery": ("请尽快补发并附说明函。", "请生产部确认排期后回复。", "请财务跟进对账。"),
    "complaint": ("请售后主管亲自回访，本周内上门。", "建议提交8D整改报告并安排质量经理拜访。"),
    "competitor": ("建议申请价格支持或增值服务方案应对。", "请市场部评估竞品样机性能。", ""),
    "price": ("请销售总监确定让价底线。", "建议提前发调价函并做好解释。"),
    "other": ("建议主管陪同拜访。", ""),
}
OPINIONS: dict[str, tuple[str, ...]] = {
    "demand": ("已安排技术部周四出方案，报价由商务部同步准备。", "资质文件已整理，明天发给客户经理。"),
    "delivery": ("已通知仓库补发，物流单号明天提供。", "生产部确认可提前五天交货，其余两天协调外协。",
                 "已与财务核对，差额为运费开票口径不同，重新开票。"),
    "complaint": ("售后主管已电话致歉，明天上门检修。", "质量部已启动整改，三日内提交报告。"),
    "competitor": ("同意申请增值服务方案，由客户经理牵头两天内报批。", "已转市场部做竞品对比分析。"),
    "price": ("同意框架价下调3%，附加年度采购量承诺。", "调价函由商务部统一起草，下周发出。"),
    "other": ("同意，安排下周二陪同拜访。", "已报名，介绍材料由市场部准备。"),
}
FEEDBACK = ("已处理完毕，客户表示满意。", "已按要求办理，请客户经理告知客户结果。", "方案已发客户，对方将在内部评审后答复。",
            "问题已解决，后续纳入月度回访。", "已落实，客户确认收到。")


@dataclass
class BuiltRelay:
    forms: int = 0
    open: int = 0
    overdue: int = 0
    late_steps: int = 0
    rules: int = 0
    by_status: dict[str, int] = field(default_factory=dict)


def _providers(world: BuiltWorld) -> list[User]:
    people = [User.objects.select_related("department", "post").get(pk=u.pk) for u in world.people.values()]
    return [u for u in people if u.is_active and Role.MANAGER in u.roles]


def _admin(world: BuiltWorld) -> User | None:
    for user in world.people.values():
        fresh = User.objects.get(pk=user.pk)
        if fresh.is_active and Role.ADMIN in fresh.roles:
            return fresh
    return None


def _rules(world: BuiltWorld) -> int:
    admin = _admin(world)
    posts = {p.code: p for p in Post.objects.filter(code__in={code for _, code in ROUTES})}
    made = 0
    for category_code, post_code in ROUTES:
        category = RelayCategory.objects.filter(code=category_code).first()
        post = posts.get(post_code)
        if category is None or post is None or RoutingRule.objects.filter(category=category, post=post).exists():
            continue
        if admin is not None:
            rule_save(actor=admin, category_id=category.pk, post_id=post.pk)
        else:
            RoutingRule.objects.create(category=category, post=post)
        made += 1
    return made


def relay_build(world: BuiltWorld) -> BuiltRelay:
    rng = random.Random(SEED)  # noqa: S311 - reproducible demo data, not secrets
    built = BuiltRelay(rules=_rules(world))
    categories = {c.code: c for c in RelayCategory.objects.filter(is_active=True)}
    weights = [(categories[code], w) for code, w in WEIGHTS if code in categories]
    if not weights:
        return built
    providers = _providers(world)
    owned: dict[int, list[Customer]] = defaultdict(list)
    for owned_customer in Customer.objects.filter(owner__in=providers, status=CustomerStatus.ACTIVE).order_by("pk"):
        owned[owned_customer.owner_id].append(owned_customer)  # type: ignore[index]
    peers = [u for u in providers]
    now = timezone.now()
    today = timezone.localdate()
    drafts: list[dict[str, Any]] = []
    routes: dict[tuple[int, int | None, int | None], tuple[User, Post | None, RoutingRule] | None] = {}
    for provider in providers:
        for offset in range(DAYS, -1, -1):
            day = today - dt.timedelta(days=offset)
            if day.weekday() >= 5 or rng.random() > 0.22:
                continue
            category = rng.choices([c for c, _ in weights], [w for _, w in weights])[0]
            key = (category.pk, provider.team_id, provider.department_id)  # the same receivers for a whole team
            if key not in routes:
                routes[key] = route(category=category, provider=provider)
            routed = routes[key]
            if routed is None:  # "other": the provider chooses, usually their supervisor or a teammate
                chosen = User.objects.filter(pk=provider.supervisor_id).first() if provider.supervisor_id else None
                if chosen is None or rng.random() < 0.3:
                    chosen = rng.choice([p for p in peers if p.pk != provider.pk])
                receiver, post, rule = chosen, chosen.post, None
            else:
                receiver, post, rule = routed
            relayed_at = timezone.make_aware(dt.datetime.combine(day, dt.time(rng.randint(8, 17), rng.randint(0, 59))))
            if relayed_at > now:
                relayed_at = now - dt.timedelta(minutes=rng.randint(5, 90))
            customers = owned.get(provider.pk) or []
            customer: Customer | None = rng.choice(customers) if customers and rng.random() < 0.9 else None
            name = customer.name if customer else "重点客户"
            drafts.append({"provider": provider, "receiver": receiver, "post": post, "rule": rule,
                           "category": category, "customer": customer, "relayed_at": relayed_at,
                           "content": rng.choice(CONTENT[category.code]).format(c=name),
                           "suggestions": rng.choice(SUGGESTIONS[category.code])})
    drafts.sort(key=lambda d: (d["relayed_at"], d["provider"].pk))
    next_sequence: dict[int, int] = {}
    forms: list[RelayForm] = []
    for d in drafts:
        category = d["category"]
        relayed_at = d["relayed_at"]
        year = timezone.localtime(relayed_at).year
        if year not in next_sequence:
            counter = RelayCounter.objects.filter(year=year).first()
            next_sequence[year] = (counter.last if counter else 0) + 1
        sequence = next_sequence[year]
        next_sequence[year] += 1
        dues = dues_for(relayed_at, Limits(category.receive_hours, category.handle_hours, category.feedback_hours))
        form = RelayForm(number=number_format(_prefix(), year, sequence), year=year, sequence=sequence,
                         provider=d["provider"], relayed_at=relayed_at, category=category, content=d["content"],
                         suggestions=d["suggestions"], receiver=d["receiver"], receiver_post=d["post"],
                         routed_by=d["rule"], customer=d["customer"], receive_due=dues.receive_due,
                         handle_due=dues.handle_due, feedback_due=dues.feedback_due)
        _steps(form, rng, now)
        forms.append(form)
    RelayForm.objects.bulk_create(forms, batch_size=500)
    for year, following in next_sequence.items():
        RelayCounter.objects.update_or_create(year=year, defaults={"last": following - 1})
    saved = list(RelayForm.objects.filter(number__in=[f.number for f in forms]).select_related(
        "provider", "receiver", "category"))
    _audit_and_timeline(saved)
    for form in saved:
        built.by_status[form.status] = built.by_status.get(form.status, 0) + 1
        built.open += form.status != RelayStatus.FED_BACK
        due = {RelayStatus.SENT: form.receive_due, RelayStatus.RECEIVED: form.handle_due,
               RelayStatus.HANDLED: form.feedback_due}.get(RelayStatus(form.status))
        built.overdue += due is not None and due < now
        built.late_steps += sum(1 for at, d in ((form.received_at, form.receive_due), (form.handled_at, form.handle_due),
                                                (form.fed_back_at, form.feedback_due)) if at and at > d)
    built.forms = len(saved)
    return built


def _steps(form: RelayForm, rng: random.Random, now: dt.datetime) -> None:
    """How far the form got: older forms mostly closed (some late), a few never handled; recent ones open."""
    age_h = (now - form.relayed_at).total_seconds() / 3600
    code = form.category.code
    neglected = rng.random() < 0.06
    sloppy = rng.random() < 0.15  # a late step somewhere
    limits = ((form.receive_due - form.relayed_at), (form.handle_due - form.relayed_at),
              (form.feedback_due - form.relayed_at))
    at = form.relayed_at
    moments = []
    for i, limit in enumerate(limits):
        share = rng.uniform(0.1, 0.8) if not (sloppy and i == rng.randint(0, 2)) else rng.uniform(1.1, 1.8)
        step_at = form.relayed_at + limit * share
        at = max(at + dt.timedelta(minutes=rng.randint(5, 60)), step_at)
        moments.append(at)
    if neglected and age_h > 48:
        moments = moments[:rng.choice((0, 1))]
    moments = [m for m in moments if m < now]
    receiver = form.receiver
    if len(moments) >= 1:
        form.status, form.received_at, form.received_by = RelayStatus.RECEIVED, moments[0], receiver
    if len(moments) >= 2:
        form.status, form.handled_at, form.handled_by = RelayStatus.HANDLED, moments[1], receiver
        form.handling_opinion = rng.choice(OPINIONS[code])
        form.quality = rng.choices((5, 4, 3, 2, 1), (20, 40, 25, 10, 5))[0]
    if len(moments) >= 3:
        form.status, form.fed_back_at, form.fed_back_by = RelayStatus.FED_BACK, moments[2], receiver
        form.feedback = rng.choice(FEEDBACK)


def _audit_and_timeline(forms: list[RelayForm]) -> None:
    by_actor: dict[int | None, list[AuditEntry]] = defaultdict(list)
    timeline: list[TimelineEntry] = []
    for form in forms:
        by_actor[form.provider_id].append(AuditEntry(
            action="relay.form.send", obj=form, object_label=form.number, changes={
                "number": {"before": None, "after": form.number}, "receiver": {"before": None, "after": form.receiver_id},
                "category": {"before": None, "after": form.category.code},
                "routed_by": {"before": None, "after": form.routed_by_id},
                "customer": {"before": None, "after": form.customer_id}}))
        steps: tuple[tuple[dt.datetime | None, str, str, str, dict[str, Any]], ...] = ((form.received_at, "relay.form.receive", RelayStatus.SENT, RelayStatus.RECEIVED, {}),
                 (form.handled_at, "relay.form.handle", RelayStatus.RECEIVED, RelayStatus.HANDLED,
                  {"handling_opinion": {"before": "", "after": form.handling_opinion},
                   "quality": {"before": None, "after": form.quality}}),
                 (form.fed_back_at, "relay.form.feedback", RelayStatus.HANDLED, RelayStatus.FED_BACK,
                  {"feedback": {"before": "", "after": form.feedback}}))
        for at, action, before, after, extra in steps:
            if at is not None:
                by_actor[form.receiver_id].append(AuditEntry(
                    action=action, obj=form, object_label=form.number,
                    changes={"status": {"before": before, "after": after}, **extra}))
        if form.customer_id:
            timeline.append(TimelineEntry(customer_id=form.customer_id, occurred_at=form.relayed_at, kind="relay.sent",
                                          actor_id=form.provider_id, data={"form_id": form.pk, "number": form.number},
                                          summary=f"信息传递单 {form.number}（{form.category.name}）已发送给 {form.receiver}"))
            if form.fed_back_at:
                timeline.append(TimelineEntry(
                    customer_id=form.customer_id, occurred_at=form.fed_back_at, kind="relay.fed_back",
                    actor_id=form.receiver_id, data={"form_id": form.pk, "number": form.number},
                    summary=f"信息传递单 {form.number} 已处理并反馈：{form.feedback}"[:400]))
    users = {u.pk: u for u in User.objects.filter(pk__in=[k for k in by_actor if k])}
    for actor_id, entries in by_actor.items():
        audit_record_many(actor=users.get(actor_id) if actor_id else None, entries=entries)
    TimelineEntry.objects.bulk_create(timeline, batch_size=1000)
