"""The preset schemes, taken from the sources (seeds/001 §4, seeds/002 §2, seeds/003 §2, seeds/004 §4).

- monthly_percent (P1): the monthly percentage assessment of a customer manager over economic results, sales
  forecast accuracy, customer management, marketing service, system execution and basic-data management;
  "customer management and marketing service are the focus" — they carry the most weight (25 each).
- quarterly_100 (P2): the same content scored in the 100-point form (points per dimension), targets over a quarter.
- semiannual_skills (P3): the half-yearly job-skill assessment — required knowledge ("应知应会"), information
  system use, tools, analysis — scored by hand against rubrics; system use shows the basic-data quality and plan
  completion as a reference.
- annual_comprehensive (P4): the year's results and overall quality ("综合评价工作业绩和综合素质").
- kpi_okr (P5): KPI dimensions (sales completion, margin, collection, customer satisfaction) plus OKR progress.

Every preset passes scheme_errors against METRICS (tested). Schemes are copied into a versioned scheme when used,
so changing a preset here never changes a running period.
"""

from __future__ import annotations

from decimal import Decimal as D

from kamguard.performance.domain.scoring import (
    Band,
    DimensionSpec,
    GradeBand,
    RubricLevel,
    SchemeSpec,
)

GRADES: tuple[GradeBand, ...] = (
    GradeBand("A", D(90), "Excellent", "优秀"),
    GradeBand("B", D(80), "Good", "良好"),
    GradeBand("C", D(70), "Competent", "称职"),
    GradeBand("D", D(60), "Needs improvement", "基本称职"),
    GradeBand("E", D(0), "Unsatisfactory", "不称职"),
)


def _bands(*pairs: tuple[int | str, int | str]) -> tuple[Band, ...]:
    return tuple(Band(D(str(v)), D(str(s))) for v, s in pairs)


def _rubric(*levels: tuple[int, str, str]) -> tuple[RubricLevel, ...]:
    return tuple(RubricLevel(D(score), en, zh) for score, en, zh in levels)


COMPLETION_BANDS = _bands((110, 100), (100, 95), (95, 88), (90, 80), (80, 70), (70, 60), (50, 40), (0, 20))

ECONOMIC = DimensionSpec(
    code="economic_results",
    name_en="Economic results",
    name_zh="经济业绩",
    weight=D(20),
    kind="formula",
    formula="sales_completion",
    bands=COMPLETION_BANDS,
    description_en="Sales completion against the target of the period, scored by bands.",
    description_zh="按本期销售目标完成率分档计分。",
)
FORECAST = DimensionSpec(
    code="forecast_accuracy",
    name_en="Sales forecast accuracy",
    name_zh="销售预测",
    weight=D(10),
    kind="formula",
    formula="forecast_accuracy",
    description_en="The accuracy of the locked monthly forecasts (100 = exactly as forecast).",
    description_zh="已锁定月度销售预测的准确率(100 表示与预测完全一致)。",
)
CUSTOMER_MANAGEMENT = DimensionSpec(
    code="customer_management",
    name_en="Customer management",
    name_zh="客户管理",
    weight=D(25),
    kind="formula",
    formula="tier_coverage - 10 * disputes",
    description_en="Share of owned customers served to their tier's standard, 10 points off per ownership dispute.",
    description_zh="名下客户达到分级服务标准的比例,每发生一起客户归属争议扣 10 分。",
)
MARKETING_SERVICE_MONTH = DimensionSpec(
    code="marketing_service",
    name_en="Marketing service",
    name_zh="营销服务",
    weight=D(25),
    kind="formula",
    formula="min(followup_frequency * 25, 60) + min(visit_count * 2, 40)",
    description_en="Follow-up frequency (4 contacts per customer per month = 60 points) and visits (20 = 40 points).",
    description_zh="跟进频率(每客户每月 4 次联系计满 60 分)加拜访次数(20 次计满 40 分)。",
)
MARKETING_SERVICE_QUARTER = DimensionSpec(
    code="marketing_service",
    name_en="Marketing service",
    name_zh="营销服务",
    weight=D(25),
    kind="formula",
    formula="min(followup_frequency * 25, 60) + min(visit_count * 2 / 3, 40)",
    description_en="Follow-up frequency (4 contacts per customer per month = 60 points) and visits (60 in the "
    "quarter = 40 points).",
    description_zh="跟进频率(每客户每月 4 次联系计满 60 分)加拜访次数(一季度 60 次计满 40 分)。",
)
SYSTEM_EXECUTION = DimensionSpec(
    code="system_execution",
    name_en="System execution",
    name_zh="系统执行",
    weight=D(10),
    kind="formula",
    formula="policy_compliance",
    description_en="Work logs on time and no violations of the company's rules.",
    description_zh="按时提交工作日志、遵守公司制度,无违规。",
)
BASIC_DATA = DimensionSpec(
    code="basic_data",
    name_en="Basic-data management",
    name_zh="基础数据管理",
    weight=D(10),
    kind="formula",
    formula="data_quality",
    description_en="Work records complete, correct, classified and kept (the supervision quality score).",
    description_zh="工作记录完整、准确、分类、留存(督导检查的数据质量得分)。",
)

MONTHLY_PERCENT = SchemeSpec(
    code="monthly_percent",
    name_en="Monthly percentage assessment",
    name_zh="客户经理月度百分比考核",
    period_type="month",
    presentation="percent",
    dimensions=(ECONOMIC, FORECAST, CUSTOMER_MANAGEMENT, MARKETING_SERVICE_MONTH, SYSTEM_EXECUTION, BASIC_DATA),
    grades=GRADES,
    coaching_below=D(60),
    incentive_from=D(90),
    description_en="Economic results, forecast accuracy, customer management, marketing service, system execution "
    "and basic-data management; customer management and marketing service weigh most.",
    description_zh="从月度经济业绩、销售预测、客户管理、营销服务、系统执行、基础数据管理六个方面考核,"
    "客户管理和营销服务为考核重点。",
)

QUARTERLY_100 = SchemeSpec(
    code="quarterly_100",
    name_en="Quarterly 100-point assessment",
    name_zh="客户经理季度百分制考核",
    period_type="quarter",
    presentation="points",
    dimensions=(ECONOMIC, FORECAST, CUSTOMER_MANAGEMENT, MARKETING_SERVICE_QUARTER, SYSTEM_EXECUTION, BASIC_DATA),
    grades=GRADES,
    coaching_below=D(60),
    incentive_from=D(90),
    description_en="The monthly content over a quarter, shown as points out of 100.",
    description_zh="考核内容与月度考核相同,按季度汇总,采用百分制计分。",
)

KNOWLEDGE = DimensionSpec(
    code="required_knowledge",
    name_en="Required knowledge",
    name_zh="应知应会",
    weight=D(30),
    kind="manual",
    rubric=_rubric(
        (95, "Knows the products, prices, policies and the customers' business thoroughly; explains them to others.",
         "熟练掌握产品、价格、政策及客户经营情况,能给他人讲解。"),
        (80, "Knows the products, prices and policies well; rarely needs to look anything up.",
         "较好掌握产品、价格和政策,很少需要查阅。"),
        (65, "Knows the essentials but gaps show in front of customers.", "掌握基本内容,但面对客户时有欠缺。"),
        (40, "Often cannot answer basic questions about products or policies.", "经常答不出产品或政策方面的基本问题。"),
    ),
    description_en="What a customer manager must know: products, prices, policies, the customers' business.",
    description_zh="客户经理应知应会的内容:产品、价格、政策、客户经营情况。",
)
SYSTEM_USE = DimensionSpec(
    code="system_use",
    name_en="Information system use",
    name_zh="信息系统操作",
    weight=D(25),
    kind="manual",
    formula="(data_quality + plan_completion) / 2",
    rubric=_rubric(
        (95, "Records everything in the system on time and uses its reports in daily work.",
         "各项工作及时录入系统,并在日常工作中运用系统报表。"),
        (80, "Records work on time; uses the main functions correctly.", "按时录入,正确使用主要功能。"),
        (65, "Records most work but late or incomplete at times.", "大部分工作有录入,但时有延迟或不完整。"),
        (40, "Records little; relies on others to use the system.", "录入很少,依赖他人操作系统。"),
    ),
    description_en="Scored by hand; the basic-data quality and visit-plan completion are shown as a reference.",
    description_zh="人工评分;以基础数据质量和拜访计划完成率作为参考。",
)
TOOLS = DimensionSpec(
    code="tools",
    name_en="Use of tools",
    name_zh="工具应用",
    weight=D(20),
    kind="manual",
    rubric=_rubric(
        (95, "Uses the marketing tools (plans, logs, relay forms, visit records) skilfully and helps colleagues.",
         "熟练运用营销计划、工作日志、信息传递表、拜访记录等工具,并能帮助同事。"),
        (80, "Uses the tools correctly and regularly.", "能正确、经常地使用各类工具。"),
        (65, "Uses the tools when asked to.", "在要求下才使用工具。"),
        (40, "Seldom uses the tools or uses them wrongly.", "很少使用工具或使用不当。"),
    ),
    description_en="Marketing tools: plans, work logs, information relay forms, visit records.",
    description_zh="营销工具:营销计划、工作日志、信息传递表、拜访记录。",
)
ANALYSIS = DimensionSpec(
    code="analysis",
    name_en="Analysis",
    name_zh="分析能力",
    weight=D(25),
    kind="manual",
    rubric=_rubric(
        (95, "Analyses the market and each customer and turns the analysis into targeted measures that work.",
         "能分析市场和客户,提出有针对性的措施并取得成效。"),
        (80, "Analyses the customers' situation and proposes sensible measures.", "能分析客户情况并提出合理措施。"),
        (65, "Describes the situation but draws few conclusions.", "能描述情况,但结论和措施较少。"),
        (40, "Does no analysis of the market or the customers.", "基本不做市场和客户分析。"),
    ),
    description_en="Marketing analysis and targeted service measures.",
    description_zh="营销分析能力及制定针对性服务措施的能力。",
)

SEMIANNUAL_SKILLS = SchemeSpec(
    code="semiannual_skills",
    name_en="Semi-annual job-skill assessment",
    name_zh="客户经理半年度岗位技能考核",
    period_type="half_year",
    presentation="percent",
    dimensions=(KNOWLEDGE, SYSTEM_USE, TOOLS, ANALYSIS),
    grades=GRADES,
    coaching_below=D(65),
    incentive_from=D(90),
    description_en="Required knowledge, information system use, tools and analysis, assessed every half year "
    "together with job-skill training.",
    description_zh="每半年考核一次,结合岗位技能培训,考核应知应会、信息系统操作、工具应用和分析能力。",
)

ANNUAL_RESULTS = DimensionSpec(
    code="annual_results",
    name_en="Results of the year",
    name_zh="年度工作业绩",
    weight=D(40),
    kind="formula",
    formula="sales_completion",
    bands=COMPLETION_BANDS,
    description_en="Sales completion against the year's targets, scored by bands.",
    description_zh="按全年销售目标完成率分档计分。",
)
ANNUAL_CUSTOMERS = DimensionSpec(
    code="customer_relationships",
    name_en="Customer relationships",
    name_zh="客户关系维护",
    weight=D(20),
    kind="formula",
    formula="tier_coverage - 5 * disputes",
    description_en="Customers served to their tier's standard over the year, 5 points off per ownership dispute.",
    description_zh="全年客户达到分级服务标准的比例,每起客户归属争议扣 5 分。",
)
ANNUAL_COMPLIANCE = DimensionSpec(
    code="compliance",
    name_en="Compliance",
    name_zh="遵章守纪",
    weight=D(10),
    kind="formula",
    formula="policy_compliance",
    description_en="Work logs on time and no violations over the year.",
    description_zh="全年按时提交工作日志、无违规情况。",
)
OVERALL_QUALITY = DimensionSpec(
    code="overall_quality",
    name_en="Overall quality",
    name_zh="综合素质",
    weight=D(30),
    kind="manual",
    rubric=_rubric(
        (95, "A model for the team: integrity, teamwork, learning and initiative beyond the role.",
         "团队表率:诚信、协作、学习和主动性均超出岗位要求。"),
        (80, "Reliable and cooperative; learns and improves steadily.", "可靠、配合,能持续学习和改进。"),
        (65, "Meets the basic requirements of the role.", "达到岗位基本要求。"),
        (40, "Falls short of the role's requirements in conduct or attitude.", "在工作作风或态度上达不到岗位要求。"),
    ),
    description_en="Integrity, teamwork and communication, learning and innovation over the year.",
    description_zh="全年的诚信、团队协作与沟通、学习与创新。",
)

ANNUAL_COMPREHENSIVE = SchemeSpec(
    code="annual_comprehensive",
    name_en="Annual comprehensive evaluation",
    name_zh="客户经理年度综合考评",
    period_type="year",
    presentation="points",
    dimensions=(ANNUAL_RESULTS, ANNUAL_CUSTOMERS, ANNUAL_COMPLIANCE, OVERALL_QUALITY),
    grades=GRADES,
    coaching_below=D(60),
    incentive_from=D(90),
    description_en="The year's results and overall quality, for rewards, promotion and elimination of the weakest.",
    description_zh="综合评价上一年度的工作业绩和综合素质,作为奖惩、晋升和优胜劣汰的依据。",
)

KPI_SALES = DimensionSpec(
    code="kpi_sales",
    name_en="KPI: sales completion",
    name_zh="KPI:销售完成率",
    weight=D(30),
    kind="formula",
    formula="min(sales_completion, 100)",
    description_en="Sales against target, up to 100.",
    description_zh="销售目标完成率,最高计 100 分。",
)
KPI_MARGIN = DimensionSpec(
    code="kpi_margin",
    name_en="KPI: margin",
    name_zh="KPI:毛利",
    weight=D(10),
    kind="formula",
    formula="margin_rate",
    bands=_bands((98, 100), (95, 90), (90, 75), (85, 60), (0, 40)),
    description_en="The share of the list price kept after discounts, scored by bands.",
    description_zh="折扣后保留的目录价比例,分档计分。",
)
KPI_COLLECTION = DimensionSpec(
    code="kpi_collection",
    name_en="KPI: payment collection",
    name_zh="KPI:回款",
    weight=D(15),
    kind="formula",
    formula="min(collection_rate, 100)",
    description_en="Payments collected against what fell due, up to 100.",
    description_zh="回款金额占到期应收的比例,最高计 100 分。",
)
KPI_SATISFACTION = DimensionSpec(
    code="kpi_satisfaction",
    name_en="KPI: customer satisfaction",
    name_zh="KPI:客户满意度",
    weight=D(15),
    kind="formula",
    formula="satisfaction",
    description_en="Customers' survey answers; without answers the weight goes to the other dimensions.",
    description_zh="客户问卷评价;无问卷数据时,其权重按比例分摊到其他维度。",
)
OKR = DimensionSpec(
    code="okr",
    name_en="OKR progress",
    name_zh="OKR 完成情况",
    weight=D(30),
    kind="formula",
    formula="okr_progress",
    description_en="The weighted progress of the key results of the person's objectives.",
    description_zh="个人目标下各关键结果的加权完成进度。",
)

KPI_OKR = SchemeSpec(
    code="kpi_okr",
    name_en="KPI + OKR assessment",
    name_zh="KPI 与 OKR 结合考核",
    period_type="quarter",
    presentation="percent",
    dimensions=(KPI_SALES, KPI_MARGIN, KPI_COLLECTION, KPI_SATISFACTION, OKR),
    grades=GRADES,
    coaching_below=D(60),
    incentive_from=D(90),
    description_en="Key performance indicators combined with objectives and key results (SMART goals).",
    description_zh="关键绩效指标(KPI)与目标和关键结果(OKR)相结合,目标遵循 SMART 原则。",
)

PRESETS: tuple[SchemeSpec, ...] = (
    MONTHLY_PERCENT,
    QUARTERLY_100,
    SEMIANNUAL_SKILLS,
    ANNUAL_COMPREHENSIVE,
    KPI_OKR,
)


def preset(code: str) -> SchemeSpec | None:
    return next((p for p in PRESETS if p.code == code), None)
