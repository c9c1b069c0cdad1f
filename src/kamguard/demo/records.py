"""Build the demo's other work records (D6) and market information (D8), through the records services: for
every active manager and specialist, about three months of analyses, special reports, work summaries,
marketing cases and customer sign-offs — most classified, a few not yet —, attached to their customers and
with small files generated here (a one-page PDF, a PNG "scan", a text note);
and market intelligence (competitors, the industry, product feedback) linked to the customers it came from.
"""

from __future__ import annotations

import datetime as dt
import random
import struct
import zlib
from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from django.core.files.base import ContentFile
from django.utils import timezone

from kamguard.customers.models import Customer, CustomerStatus
from kamguard.org.domain.roles import Role
from kamguard.org.models import User
from kamguard.records.services import market_create, record_create

if TYPE_CHECKING:
    from kamguard.demo.build import BuiltWorld

DAYS = 90
SEED = 2026_04

RECORDS: dict[str, tuple[str, ...]] = {
    "analysis": ("{c}近三个月采购数据分析", "{c}需求变化与份额分析", "本月A类客户回款分析"),
    "special_report": ("关于{c}二期项目的专题报告", "竞品在{c}渗透情况专题报告", "区域重点客户流失风险专题报告"),
    "summary": ("{m}月工作总结", "第{w}周工作小结", "{c}年度合作总结"),
    "marketing_case": ("营销案例：{c}从试用到批量采购", "营销案例：以技术交流打开{c}局面", "营销案例：挽回{c}的订单"),
    "sign_off": ("{c}年度供货确认单（客户签字）", "{c}验收单（客户签字）", "{c}对账确认函（客户盖章）"),
    "": ("{c}拜访资料整理", "客户资料补充"),
}
DESCRIPTIONS = ("按公司基础资料管理要求整理归档。", "附件为原件扫描，纸质件已交内勤保管。", "供部门周例会讨论使用。",
                "数据来源：订单系统与回款台账。", "")
MARKET: dict[str, tuple[tuple[str, str], ...]] = {
    "competitor": (("竞品降价抢单", "{x}在{c}报价下调约8%，并承诺延长质保一年。"),
                   ("竞品免费试用", "{x}在{c}安装两台样机免费试用三个月。"),
                   ("竞品新品发布", "{x}发布新一代节能型号，宣传能耗降低15%。")),
    "industry": (("行业新标准即将实施", "行业协会发布新版能效标准，明年7月起执行，{c}等客户已开始关注。"),
                 ("原材料价格上涨", "铜材价格一个月上涨6%，下游客户普遍担心成本压力。"),
                 ("区域产业政策", "园区出台技改补贴政策，{c}计划申报设备更新项目。")),
    "product_feedback": (("包装易破损", "{c}反馈运输途中外箱破损率偏高，建议加强包装。"),
                         ("操作界面不便", "{c}操作工反映新版控制面板菜单层级过深。"),
                         ("能耗表现良好", "{c}统计新设备能耗比旧型号低约12%，计划推广到其他车间。")),
}
COMPETITORS = ("华强机电", "东方精工", "恒信科技", "博远装备")
PRODUCTS = ("KX-200 控制柜", "KX-350 变频机组", "PX 系列传感器", "智能运维平台")
SOURCES = ("拜访交流", "客户采购部", "行业展会", "行业报刊", "电话回访")


@dataclass
class BuiltRecords:
    records: int = 0
    files: int = 0
    unclassified: int = 0
    market: int = 0
    by_category: dict[str, int] = field(default_factory=dict)


def demo_png(seed: int) -> bytes:
    """A small real PNG (a 16×16 grey "scan" with a stripe), generated here."""
    width = height = 16

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    rows = b"".join(b"\x00" + bytes((200 if (x + seed) % 7 else 40) for x in range(width)) for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def demo_pdf(title: str) -> bytes:
    """A one-page PDF (ASCII only: the title goes in as its document information, hex-encoded UTF-16)."""
    hex_title = "FEFF" + title.encode("utf-16-be").hex().upper()
    stream = b"BT /F1 14 Tf 72 720 Td (KAMGuard record) Tj ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Title <" + hex_title.encode() + b"> >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for offset in offsets:
        out += f"{offset:010d} 00000 n \n".encode()
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R /Info 6 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def _keepers(world: BuiltWorld) -> list[User]:
    people = [User.objects.get(pk=u.pk) for u in world.people.values()]
    return [u for u in people if u.is_active and (Role.MANAGER in u.roles or Role.SPECIALIST in u.roles)]


def records_build(world: BuiltWorld) -> BuiltRecords:
    rng = random.Random(SEED)  # noqa: S311 - reproducible demo data, not secrets
    built = BuiltRecords()
    today = timezone.localdate()
    keepers = _keepers(world)
    visible: dict[int, list[Customer]] = defaultdict(list)
    for owned_customer in Customer.objects.filter(status=CustomerStatus.ACTIVE, owner__in=keepers).order_by("pk"):
        visible[owned_customer.owner_id].append(owned_customer)  # type: ignore[index]
    team_customers: dict[int, list[Customer]] = defaultdict(list)
    for keeper in keepers:
        if keeper.team_id:
            team_customers[keeper.team_id].extend(visible.get(keeper.pk, []))
    for keeper in keepers:
        mine = visible.get(keeper.pk) or (team_customers.get(keeper.team_id or 0, []) if Role.SPECIALIST in keeper.roles
                                          else [])
        for _ in range(rng.randint(4, 8)):
            category = rng.choices(list(RECORDS), (18, 10, 22, 10, 25, 8))[0]
            customer: Customer | None = rng.choice(mine) if mine and (category != "summary" or rng.random() < 0.3) else None
            day = today - dt.timedelta(days=rng.randint(0, DAYS))
            title = rng.choice(RECORDS[category]).format(c=customer.name if customer else "重点客户", m=day.month,
                                                         w=day.isocalendar().week)
            files = []
            if category == "sign_off" or rng.random() < 0.4:
                files.append(ContentFile(demo_png(rng.randint(0, 99)), name=f"扫描件-{day:%Y%m%d}.png"))
            if category in ("analysis", "special_report", "marketing_case") and rng.random() < 0.7:
                files.append(ContentFile(demo_pdf(title), name=f"{title[:40]}.pdf"))
            if category == "summary" and rng.random() < 0.6:
                files.append(ContentFile(f"{title}\n\n一、本期主要工作\n二、存在问题\n三、下期计划\n".encode(),
                                         name=f"{title[:40]}.txt"))
            record_create(actor=keeper, title=title, category=category, description=rng.choice(DESCRIPTIONS),
                          record_on=day, customer_id=customer.pk if customer else None, files=files)
            built.records += 1
            built.files += len(files)
            built.unclassified += category == ""
            built.by_category[category or "unclassified"] = built.by_category.get(category or "unclassified", 0) + 1
        for _ in range(rng.randint(1, 4)):
            kind = rng.choices(list(MARKET), (45, 25, 30))[0]
            title, content = rng.choice(MARKET[kind])
            customer = rng.choice(mine) if mine and rng.random() < 0.8 else None
            competitor = rng.choice(COMPETITORS) if kind == "competitor" else ""
            market_create(actor=keeper, kind=kind, title=title,
                          content=content.format(c=customer.name if customer else "部分客户", x=competitor or "竞品"),
                          customer_id=customer.pk if customer else None, competitor=competitor,
                          product=rng.choice(PRODUCTS) if kind == "product_feedback" else "",
                          source=rng.choice(SOURCES), observed_on=today - dt.timedelta(days=rng.randint(0, DAYS)))
            built.market += 1
    return built
