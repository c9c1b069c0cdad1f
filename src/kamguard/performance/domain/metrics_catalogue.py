"""The metrics a scheme's formulas may name (requirements P6, P9), each with its unit, direction and explanation.

`explain_en` / `explain_zh` are str.format templates over the metric's inputs (the strings performance.metrics
records next to each value), so a scorecard can say where a number came from. A metric without data carries the
input "reason" (a key of NO_DATA_REASONS) instead; `metric_explain` picks the right sentence.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

UNITS = ("%", "count", "CNY", "score")


@dataclass(frozen=True)
class MetricDef:
    code: str
    name_en: str
    name_zh: str
    unit: str  # one of UNITS
    higher_is_better: bool
    explain_en: str
    explain_zh: str


def _m(code: str, name_en: str, name_zh: str, unit: str, higher: bool, en: str, zh: str) -> MetricDef:
    return MetricDef(code, name_en, name_zh, unit, higher, en, zh)


METRICS: dict[str, MetricDef] = {
    m.code: m
    for m in (
        _m("sales_amount", "Sales", "销售额", "CNY", True,
           "{sales} CNY over {orders} orders credited to the manager in the period (cancelled orders left out).",
           "本期记入该客户经理名下的 {orders} 笔订单,合计 {sales} 元(不含已取消订单)。"),
        _m("sales_target", "Sales target", "销售目标", "CNY", True,
           "{target} CNY: the sum of {months} monthly sales targets in the period.",
           "{target} 元:本期内 {months} 个月销售目标之和。"),
        _m("sales_completion", "Sales completion rate", "销售完成率", "%", True,
           "{sales} CNY of orders against a target of {target} CNY.",
           "订单金额 {sales} 元,目标 {target} 元。"),
        _m("margin_rate", "Price realisation (margin)", "价格实现率(毛利)", "%", True,
           "{net} CNY invoiced on lines with a list price, against {list} CNY at list price (what discounts left).",
           "有目录价的订单行实收 {net} 元,按目录价计 {list} 元(折扣后保留的比例)。"),
        _m("collection_rate", "Payment collection rate", "回款率", "%", True,
           "{collected} CNY of the {due} CNY of orders falling due in the period had been paid by its end.",
           "本期到期应收 {due} 元,截至期末已回款 {collected} 元。"),
        _m("forecast_accuracy", "Forecast accuracy", "销售预测准确率", "%", True,
           "The average accuracy of {months} monthly forecasts: {commit} CNY committed, {actual} CNY won.",
           "{months} 个月销售预测的平均准确率:预测 {commit} 元,实际成交 {actual} 元。"),
        _m("tier_coverage", "Customer coverage by tier standard", "分级客户服务达标率", "%", True,
           "{covered} of {customers} owned customers received the visits their tier's service standard asks for "
           "({detail}).",
           "名下 {customers} 个客户中有 {covered} 个达到所在等级的拜访标准({detail})。"),
        _m("followup_frequency", "Follow-up frequency", "跟进频率", "count", True,
           "{contacts} visits, calls and other contacts with {customers} owned customers over {months} months: "
           "{per_customer} per customer per month.",
           "{months} 个月内与名下 {customers} 个客户的拜访、电话等联系共 {contacts} 次,平均每客户每月 {per_customer} 次。"),
        _m("visit_count", "Visits", "拜访次数", "count", True,
           "{visits} visits done in the period ({accompanied} accompanied by the supervisor).",
           "本期完成拜访 {visits} 次(其中主管陪访 {accompanied} 次)。"),
        _m("data_quality", "Basic-data quality", "基础数据质量", "score", True,
           "The basic-data quality score of the supervision checks ({applicable} of {checks} checks apply).",
           "督导检查的基础数据质量得分(适用 {checks} 项检查中的 {applicable} 项)。"),
        _m("late_logs", "Late work logs", "迟交工作日志", "count", False,
           "{late} of {logs} work logs of the period were submitted after their deadline.",
           "本期 {logs} 篇工作日志中有 {late} 篇逾期提交。"),
        _m("missing_logs", "Missing work logs", "缺交工作日志", "count", False,
           "{missing} working days of the period without a submitted work log.",
           "本期有 {missing} 个工作日没有提交工作日志。"),
        _m("violations", "Violations", "违规次数", "count", False,
           "{cases} investigations closed in the period found a violation; {penalties} penalties took effect.",
           "本期结案并认定违规的调查 {cases} 起;生效处罚 {penalties} 次。"),
        _m("policy_compliance", "Policy compliance", "制度执行", "%", True,
           "{on_time} of {expected} work logs on time, minus {per_violation} points for each of {violations} "
           "violations.",
           "应交工作日志 {expected} 篇,按时提交 {on_time} 篇;违规 {violations} 次,每次扣 {per_violation} 分。"),
        _m("log_quality", "Work-log quality", "工作日志质量", "score", True,
           "The supervisors' average quality rating {rating} (of {scale}) over {reviews} reviewed logs.",
           "主管对 {reviews} 篇工作日志的平均质量评分 {rating}(满分 {scale})。"),
        _m("plan_completion", "Visit plan completion", "拜访计划完成率", "%", True,
           "{done} of {planned} planned visits carried out.",
           "计划拜访 {planned} 次,实际完成 {done} 次。"),
        _m("disputes", "Ownership disputes", "客户归属争议", "count", False,
           "{disputes} ownership disputes over the manager's customers filed in the period ({lost} decided against "
           "the manager).",
           "本期涉及该客户经理的客户归属争议 {disputes} 起(其中判定不利于本人 {lost} 起)。"),
        _m("transfers_out", "Customers transferred away", "客户转出", "count", False,
           "{transfers} customers left the manager in the period ({reclaimed} reclaimed for lack of follow-up, "
           "{released} released to the pool, {other} transferred or reassigned).",
           "本期有 {transfers} 个客户从该客户经理名下转出(因未跟进被收回 {reclaimed} 个,主动释放 {released} 个,"
           "转交或重新分配 {other} 个)。"),
        _m("satisfaction", "Customer satisfaction", "客户满意度", "score", True,
           "The average of {answers} customer survey answers.",
           "{answers} 份客户问卷回答的平均分。"),
        _m("okr_progress", "OKR progress", "OKR 完成进度", "%", True,
           "{progress}%: the weighted progress of the key results of the person's objectives in the period.",
           "{progress}%:本期个人目标下各关键结果的加权完成进度。"),
        _m("review_360", "360 review", "360 度评价", "score", True,
           "The overall score of {reviews} completed 360 reviews (self, supervisor, peers, customers).",
           "{reviews} 份已完成的 360 度评价(自评、上级、同事、客户)的综合得分。"),
    )
}

NO_DATA_REASONS: dict[str, tuple[str, str]] = {
    "no_target": ("No sales target was set for the period.", "本期未设定销售目标。"),
    "partial_target": ("Sales targets were set for only some months of the period: the period's sales cannot be "
                       "measured against part of its target.",
                       "本期只有部分月份设定了销售目标,无法用整期销售额对比部分目标。"),
    "no_orders": ("No orders were credited to the manager in the period.", "本期没有记入该客户经理名下的订单。"),
    "no_list_price": ("No order line of the period has a list price.", "本期订单行都没有目录价。"),
    "nothing_due": ("No orders fell due in the period.", "本期没有到期应收款。"),
    "no_forecast": ("No locked forecast with a computed accuracy in the period.", "本期没有已锁定并计算准确率的销售预测。"),
    "no_customers": ("The manager owns no customers.", "该客户经理名下没有客户。"),
    "no_logs": ("No work logs were due in the period.", "本期没有应交的工作日志。"),
    "no_reviews": ("No work log of the period was reviewed.", "本期没有经过点评的工作日志。"),
    "no_plan": ("No visits were planned in the period.", "本期没有计划拜访。"),
    "no_quality_data": ("No basic data to check in the period.", "本期没有可检查的基础数据。"),
    "no_survey": ("No customer answered a satisfaction survey.", "没有客户回答满意度问卷。"),
    "no_okr": ("No objectives with key results in the period.", "本期没有设定目标与关键结果。"),
    "no_360": ("No completed 360 review in the period.", "本期没有完成的 360 度评价。"),
    "not_available": ("This data is not recorded in the system yet.", "系统尚未记录该数据。"),
}


class _Blank(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return "?"


def metric_explain(code: str, value: Decimal | None, inputs: Mapping[str, str], lang: str = "en") -> str:
    """The sentence that explains a metric's value (or why it has none), in "en" or "zh"."""
    zh = lang.lower().startswith("zh")
    if value is None:
        en_text, zh_text = NO_DATA_REASONS.get(inputs.get("reason", ""), NO_DATA_REASONS["not_available"])
        return zh_text if zh else en_text
    metric = METRICS.get(code)
    if metric is None:
        return ""
    template = metric.explain_zh if zh else metric.explain_en
    return template.format_map(_Blank(inputs))


def metric_name(code: str, lang: str = "en") -> str:
    metric = METRICS.get(code)
    if metric is None:
        return code
    return metric.name_zh if lang.lower().startswith("zh") else metric.name_en
