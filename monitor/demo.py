"""Demo data: a city's power catalogue and a few hundred cases placed around `now`.

The records are in the JSON-lines exchange format (`docs/data-model.md`), so `sunlight
import` reads them like a platform's export. About three quarters of the cases are clean under
every shipped rule set (`rules/*.yaml`): they record what the rules ask of a correct case —
the on-the-spot notice and statement of a summary penalty, the 动态运行情况登记表 of an
important power, the 回访 of a complaint, the four disclosures of a funds item. A known share
breaks one rule each (overdue, near the limit, a decision not disclosed, a decision without
acceptance, two correction notices, a wrong fee, an unlisted power, penalty irregularities, an
unanswered complaint, an undisclosed funds stage, an unregistered important power, an
unanswered application for government information), so a demo shows every kind of yellow and
red card without the cards swamping the dashboards.

Deadlines are placed with the real working-day calendar (调休 included): the start day is
not counted and a day-based limit ends at 24:00 Beijing time on its last day. Everything is
a function of (now, cases, seed): no wall clock, no global random state. All applicants are
invented; identity numbers and credit codes only look valid.
"""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from itertools import groupby
from typing import Any

from monitor.calendar import WorkCalendar
from monitor.timeutil import DEFAULT_TZ

TZ = DEFAULT_TZ
OFFICE_OPEN = time(8, 30)
OFFICE_CLOSE = time(17, 30)
TODAY_USABLE_FROM = time(9, 30)  # before this, "today" has no room for a morning's events
SOON_MINUTES = 5

# The figures of the shipped rule sets the demo keeps clean cases inside (rules/*.yaml).
ACCEPT_DAYS = 5  # licensing: decide on acceptance within 5 working days
LICENCE_DELIVER_DAYS = 10  # licensing: deliver within 10 working days
EXTENSION_DAYS = 10  # licensing: one approved extension of 10 working days
PAUSE_MAX_DAYS = 30  # licensing: an expert review pauses the clock for at most 30 days
PENALTY_DELIVER_DAYS = 7  # penalty: deliver within 7 working days
DISCLOSURE_DAYS = 7  # 双公示: within 7 working days of the decision
REGISTRATION_DAYS = 7  # 动态运行情况登记表: within 7 days of using an important power
COMPLAINT_ACCEPT_DAYS = 3  # complaints (local, natural days): accept within 3 days
COMPLAINT_REPLY_DAYS = 15  # … reply within 15 days of acceptance
FOLLOW_UP_DAYS = 7  # … follow up (回访) within 7 days of the reply
FUNDS_DAYS = 7  # 三级四次公开 (local, natural days): each disclosure within 7 days
GOV_INFO_NOTICE_DAYS = 7  # 政府信息公开条例 art. 30: one correction notice within 7 working days
GOV_INFO_EXTENSION_DAYS = 20  # … art. 33: one extension of at most 20 working days
GOV_INFO_PAUSE_DAYS = 15  # … art. 32: a third party answers within 15 working days
FUNDS_LEVELS = ("city", "county", "village")
YELLOW_SHARE = 0.8
HEARING_THRESHOLD = {"person": 10_000, "organization": 100_000}  # local hearing thresholds
WORKING, NATURAL, HOURS = "working_days", "natural_days", "hours"


@dataclass(frozen=True, slots=True)
class _Item:
    code: str
    name: str
    item_type: str
    department: str
    legal: int
    promised: int
    unit: str
    basis: str
    volume: int  # relative number of cases
    persons: float  # share of applicants who are natural persons
    trades: tuple[str, ...] = ("商贸有限公司",)  # endings of applicant company names
    fee: int = 0
    important: bool = False
    fines: tuple[int, int, int] = (0, 0, 0)  # penalty items: lowest, highest, step (yuan)
    funds: bool = False  # disbursed funds disclosed at three levels, four times (三级四次公开)
    gov_info: bool = False  # applications for government information (依申请公开, rules/gov_info.yaml)

    def record(self) -> dict[str, Any]:
        attributes: dict[str, Any] = {"basis": self.basis}
        if self.important:
            attributes["important"] = True
        if self.funds:
            attributes["funds_disclosure"] = True
        if self.gov_info:
            attributes["gov_info_request"] = True
        return {
            "type": "item",
            "item_code": self.code,
            "name": self.name,
            "item_type": self.item_type,
            "department": self.department,
            "legal_limit": self.legal,
            "promised_limit": self.promised,
            "limit_unit": self.unit,
            "fee_standard": self.fee,
            "attributes": attributes,
        }


SAMR = "市市场监督管理局"
NRP = "市自然资源和规划局"
HUD = "市住房和城乡建设局"
TRANSPORT = "市交通运输局"
HEALTH = "市卫生健康委员会"
ECOLOGY = "市生态环境局"
CIVIL = "市民政局"
HRSS = "市人力资源和社会保障局"
URBAN = "市城市管理综合执法局"
SERVICE = "市政务服务管理办公室"
AGRI = "市农业农村局"
GOV_OFFICE = "市人民政府办公室"
DEPARTMENTS = (SAMR, NRP, HUD, TRANSPORT, HEALTH, ECOLOGY, CIVIL, HRSS, URBAN, SERVICE, AGRI, GOV_OFFICE)

_FOOD = ("餐饮管理有限公司", "食品有限公司", "便利店有限公司", "餐饮店")
_BUILD = ("房地产开发有限公司", "置业有限公司", "建设集团有限公司")

CATALOGUE: tuple[_Item, ...] = (
    _Item(
        "330100-XK-0001",
        "食品经营许可",
        "licensing",
        SAMR,
        20,
        7,
        WORKING,
        "《中华人民共和国食品安全法》第三十五条",
        14,
        0.3,
        _FOOD,
    ),
    _Item(
        "330100-XK-0002",
        "建设工程规划许可证核发",
        "licensing",
        NRP,
        20,
        10,
        WORKING,
        "《中华人民共和国城乡规划法》第四十条",
        5,
        0.0,
        _BUILD,
        important=True,
    ),
    _Item(
        "330100-XK-0003",
        "建设用地规划许可证核发",
        "licensing",
        NRP,
        20,
        12,
        WORKING,
        "《中华人民共和国城乡规划法》第三十七条、第三十八条",
        3,
        0.0,
        _BUILD,
        important=True,
    ),
    _Item(
        "330100-XK-0004",
        "建筑工程施工许可证核发",
        "licensing",
        HUD,
        20,
        5,
        WORKING,
        "《中华人民共和国建筑法》第七条",
        5,
        0.0,
        ("建设集团有限公司", "建筑工程有限公司"),
    ),
    _Item(
        "330100-XK-0005",
        "商品房预售许可",
        "licensing",
        HUD,
        20,
        8,
        WORKING,
        "《城市商品房预售管理办法》第六条、第七条",
        3,
        0.0,
        _BUILD,
    ),
    _Item(
        "330100-XK-0006",
        "道路运输经营许可",
        "licensing",
        TRANSPORT,
        20,
        10,
        WORKING,
        "《中华人民共和国道路运输条例》第八条、第二十四条",
        4,
        0.1,
        ("客运有限公司", "物流有限公司", "货运有限公司"),
    ),
    _Item(
        "330100-XK-0007",
        "医师执业注册",
        "licensing",
        HEALTH,
        20,
        3,
        WORKING,
        "《中华人民共和国医师法》第十三条",
        5,
        1.0,
    ),
    _Item(
        "330100-XK-0008",
        "医疗机构执业登记",
        "licensing",
        HEALTH,
        20,
        15,
        WORKING,
        "《医疗机构管理条例》第十五条",
        2,
        0.0,
        ("门诊部有限公司", "口腔诊所有限公司"),
    ),
    _Item(
        "330100-XK-0009",
        "排污许可证核发",
        "licensing",
        ECOLOGY,
        20,
        15,
        WORKING,
        "《排污许可管理条例》第十条",
        2,
        0.0,
        ("化工有限公司", "印染有限公司", "电镀有限公司"),
        important=True,
    ),
    _Item(
        "330100-XK-0010",
        "城市建筑垃圾处置核准",
        "licensing",
        URBAN,
        20,
        5,
        WORKING,
        "《城市建筑垃圾管理规定》第七条",
        4,
        0.0,
        ("渣土运输有限公司", "建设工程有限公司"),
    ),
    _Item(
        "330100-XK-0011",
        "民办职业培训学校设立审批",
        "licensing",
        HRSS,
        20,
        15,
        WORKING,
        "《中华人民共和国民办教育促进法》第十二条",
        1,
        0.0,
        ("职业技能培训学校",),
    ),
    _Item(
        "330100-XK-0012",
        "社会团体成立登记",
        "licensing",
        CIVIL,
        20,
        15,
        WORKING,
        "《社会团体登记管理条例》第九条",
        2,
        0.0,
        ("行业协会", "商会"),
    ),
    _Item(
        "330100-CF-0001",
        "对未取得食品经营许可从事食品经营活动的处罚",
        "penalty",
        SAMR,
        90,
        90,
        NATURAL,
        "《中华人民共和国食品安全法》第一百二十二条",
        5,
        0.5,
        _FOOD,
        fines=(50_000, 100_000, 5_000),
    ),
    _Item(
        "330100-CF-0002",
        "对经营不符合食品安全标准的食品的处罚",
        "penalty",
        SAMR,
        90,
        90,
        NATURAL,
        "《中华人民共和国食品安全法》第一百二十五条",
        4,
        0.4,
        _FOOD,
        fines=(5_000, 50_000, 1_000),
    ),
    _Item(
        "330100-CF-0003",
        "对未取得建设工程规划许可证进行建设的处罚",
        "penalty",
        URBAN,
        90,
        90,
        NATURAL,
        "《中华人民共和国城乡规划法》第六十四条",
        3,
        0.2,
        _BUILD,
        fines=(20_000, 300_000, 10_000),
    ),
    _Item(
        "330100-CF-0004",
        "对未取得道路运输经营许可擅自从事道路运输经营的处罚",
        "penalty",
        TRANSPORT,
        90,
        90,
        NATURAL,
        "《中华人民共和国道路运输条例》第六十三条",
        3,
        0.7,
        ("物流有限公司", "货运有限公司"),
        fines=(10_000, 100_000, 5_000),
    ),
    _Item(
        "330100-CF-0005",
        "对擅自占用城市道路设摊经营的处罚",
        "penalty",
        URBAN,
        90,
        90,
        NATURAL,
        "《城市市容和环境卫生管理条例》第三十六条",
        3,
        1.0,
        fines=(50, 200, 50),
    ),
    _Item(
        "330100-JF-0001",
        "城乡居民最低生活保障金给付",
        "payment",
        CIVIL,
        30,
        20,
        WORKING,
        "《社会救助暂行办法》第十一条",
        5,
        1.0,
    ),
    _Item(
        "330100-JF-0002",
        "耕地地力保护补贴发放",
        "payment",
        AGRI,
        30,
        20,
        WORKING,
        "《财政部 农业部关于全面推开农业“三项补贴”改革工作的通知》（财农〔2016〕26号）",
        3,
        0.6,
        ("家庭农场", "农民专业合作社", "股份经济合作社"),
        funds=True,
    ),
    _Item(
        "330100-QR-0001",
        "不动产首次登记",
        "confirmation",
        NRP,
        30,
        5,
        WORKING,
        "《不动产登记暂行条例》第二十条",
        8,
        0.7,
        _BUILD,
        fee=80,
    ),
    _Item(
        "330100-QR-0002",
        "工伤认定",
        "confirmation",
        HRSS,
        60,
        30,
        NATURAL,
        "《工伤保险条例》第二十条",
        2,
        1.0,
    ),
    _Item(
        "330100-GG-0001",
        "社会保障卡补换卡",
        "public_service",
        HRSS,
        15,
        5,
        WORKING,
        "《社会保障卡管理办法》",
        5,
        1.0,
        fee=20,
    ),
    _Item(
        "330100-GG-0002",
        "企业开办一日办结",
        "public_service",
        SERVICE,
        72,
        24,
        HOURS,
        "《优化营商环境条例》第十九条",
        4,
        0.0,
        ("科技有限公司", "贸易有限公司"),
    ),
    _Item(
        "330100-GK-0001",
        "政府信息公开申请办理（依申请公开）",
        "public_service",
        GOV_OFFICE,
        20,
        15,
        WORKING,
        "《中华人民共和国政府信息公开条例》第三十条、第三十三条",
        3,
        0.8,
        ("科技有限公司", "律师事务所", "房地产开发有限公司"),
        gov_info=True,
    ),
    _Item(
        "330100-TS-0001",
        "群众投诉办理",
        "complaint",
        SERVICE,
        15,
        10,
        NATURAL,
        "《信访工作条例》；本市12345政务服务便民热线工作规范",
        6,
        1.0,
    ),
    _Item(
        "330100-JC-0001",
        "食品经营者日常监督检查",
        "inspection",
        SAMR,
        20,
        10,
        WORKING,
        "《食品生产经营监督检查管理办法》第八条",
        3,
        0.3,
        _FOOD,
    ),
    _Item(
        "330100-ZS-0001",
        "城市基础设施配套费征收",
        "levy",
        HUD,
        20,
        5,
        WORKING,
        "本市城市基础设施配套费征收管理办法",
        1,
        0.0,
        _BUILD,
    ),
    _Item(
        "330100-QZ-0001",
        "查封、扣押不符合食品安全标准的食品",
        "enforcement",
        SAMR,
        30,
        30,
        NATURAL,
        "《中华人民共和国食品安全法》第一百一十条",
        1,
        0.4,
        _FOOD,
    ),
    _Item(
        "330100-CJ-0001",
        "土地权属争议调处",
        "adjudication",
        NRP,
        180,
        90,
        NATURAL,
        "《土地权属争议调查处理办法》第二十五条",
        1,
        0.5,
        ("农业开发有限公司", "股份经济合作社"),
    ),
    _Item(
        "330100-QT-0001",
        "房屋建筑工程竣工验收备案",
        "other",
        HUD,
        15,
        5,
        WORKING,
        "《房屋建筑和市政基础设施工程竣工验收备案管理办法》第八条",
        2,
        0.0,
        _BUILD,
    ),
)

# Codes a department used although the catalogue does not list them (清单外行使权力).
UNLISTED_CODES = ("330100-XK-0031", "330100-QT-0017", "330100-XK-0044", "330100-JC-0009")

# The share of cases that break one rule each (about a quarter); the rest are clean.
MIX: tuple[tuple[str, float], ...] = (
    ("overdue", 0.05),  # open licensing case past its promised limit: red time_limit
    ("nearly_due", 0.05),  # 80–95 % of the promise used: yellow time_limit
    ("undisclosed", 0.035),  # decided 8+ working days ago, not disclosed: red disclosure
    ("disclosure_due", 0.02),  # decided 6 working days ago, not disclosed: yellow disclosure
    ("no_acceptance", 0.02),  # decided without an `accepted` event: red procedure
    ("double_correction", 0.01),  # two correction notices (一次性告知): red procedure
    ("fee_mismatch", 0.01),  # fee charged differs from the catalogue: red fee
    ("unlisted", 0.0075),  # item not in the catalogue: red catalogue
    ("complaint_overdue", 0.0075),  # complaint unanswered past the local 15 days: red time_limit
    ("unregistered", 0.0075),  # important power used, no 动态运行情况登记表 a week on: red disclosure
    ("funds_undisclosed", 0.005),  # funds reached a level, that stage not disclosed: red disclosure
    ("gov_info_overdue", 0.0075),  # application for government information past its promise: red
    ("one_officer", 0.005),  # penalty investigated by one officer: red procedure
    ("spot_fine", 0.005),  # fine collected on the spot under the general procedure: red procedure
    ("no_statement", 0.005),  # penalty decided without statement or waiver: red procedure
    ("no_hearing_right", 0.005),  # fine at the hearing threshold, hearing not offered: red procedure
    ("paused", 0.01),  # expert review pause: in time only because the pause is excluded (clean)
    ("extended", 0.0025),  # one approved extension (art. 42) (clean)
    ("misrecorded", 0.004),  # decision timed before the acceptance: data_quality step_order only
)

_SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林高罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程"
    "苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦方白邹孟熊秦邱江尹薛段雷侯龙史陶黎贺顾毛郝龚邵"
)
_GIVEN_ONE = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超霞平刚斌鹏辉琳颖昊宁倩峰波"
_GIVEN_TWO = (
    "建国",
    "志强",
    "秀英",
    "桂英",
    "丽娟",
    "海燕",
    "晓东",
    "立新",
    "振华",
    "国强",
    "文博",
    "俊杰",
    "浩然",
    "子涵",
    "梓轩",
    "雨桐",
    "思远",
    "佳琪",
    "晨阳",
    "一鸣",
    "嘉怡",
    "梦瑶",
    "春梅",
    "玉兰",
    "永刚",
    "德明",
    "淑珍",
    "红霞",
    "建华",
    "明辉",
    "晓梅",
    "婷婷",
    "欣怡",
    "宇航",
    "泽宇",
    "诗涵",
    "若曦",
    "博文",
    "天佑",
    "家豪",
    "雅琴",
    "慧敏",
    "志刚",
    "建军",
    "丽华",
    "凤英",
    "桂兰",
    "秀兰",
    "海涛",
    "文静",
    "国平",
    "卫东",
    "晓燕",
    "振宇",
)
_BRANDS = (
    "鑫源",
    "恒丰",
    "华晟",
    "瑞康",
    "鼎盛",
    "永和",
    "金诚",
    "嘉禾",
    "新禾",
    "卓越",
    "明辉",
    "安泰",
    "宏图",
    "鸿运",
    "百川",
    "和美",
    "康宁",
    "富民",
    "德信",
    "盛世",
    "天成",
    "汇通",
    "锦程",
    "云帆",
    "青禾",
    "远航",
    "同创",
    "佳园",
    "润泽",
    "湖畔",
    "钱江",
    "西溪",
    "运河",
    "之江",
    "新潮",
    "万象",
)
# Birthplace codes: the city's districts and a few provinces people move from.
_AREAS = (
    "330102",
    "330105",
    "330106",
    "330108",
    "330109",
    "330110",
    "330111",
    "330112",
    "330113",
    "330114",
    "330381",
    "330521",
    "341221",
    "411323",
    "362329",
    "513922",
    "430524",
    "522127",
)
_MOBILE_PREFIXES = (
    "130",
    "131",
    "132",
    "133",
    "135",
    "136",
    "137",
    "138",
    "139",
    "150",
    "151",
    "152",
    "153",
    "155",
    "156",
    "157",
    "158",
    "159",
    "166",
    "173",
    "177",
    "180",
    "181",
    "182",
    "183",
    "185",
    "186",
    "187",
    "188",
    "189",
    "191",
    "199",
)
_MISSING_DOCS = (
    "营业执照复印件",
    "法定代表人身份证明",
    "场所平面布局图",
    "设备布局和工艺流程图",
    "申请人授权委托书",
    "建设项目用地批准文件",
    "专业技术人员资格证明",
    "安全管理制度文本",
)
_INTAKE_REASONS = (
    "申请事项依法不需要取得行政许可",
    "申请事项不属于本机关职权范围",
    "申请人未按要求补正全部材料",
)
_REFUSAL_REASONS = (
    "申请人不符合法定条件",
    "现场核查不符合要求",
    "申请材料与实际情况不符",
)
_SUMMARY_EXEMPTION = "适用简易程序当场作出的处罚决定，按本市双公示目录不予公示"


@dataclass(frozen=True, slots=True)
class _Step:
    """One planned event, `offset` working days after the plan's first event."""

    offset: int
    kind: str
    actors: tuple[str, ...] = ()
    attributes: Mapping[str, Any] = field(default_factory=dict)
    soon: bool = False  # minutes after the step before it, on the same day


@dataclass(frozen=True, slots=True)
class _Placed:
    day: date
    kind: str
    actors: tuple[str, ...]
    attributes: Mapping[str, Any]
    soon: bool


@dataclass(frozen=True, slots=True)
class _Staff:
    clerks: tuple[str, ...]
    reviewers: tuple[str, ...]
    heads: tuple[str, ...]
    officers: tuple[str, ...]
    lawyers: tuple[str, ...]
    publishers: tuple[str, ...]


@dataclass(slots=True)
class _Draft:
    item_code: str
    item_type: str
    department: str
    applicant: dict[str, str]
    attributes: dict[str, Any]
    events: list[tuple[datetime, str, tuple[str, ...], dict[str, Any]]]


def demo_records(now: datetime, cases: int = 400, seed: int = 1) -> Iterator[dict[str, Any]]:
    """Exchange-format records (items first, then each case followed by its events),
    relative to `now`."""
    if now.tzinfo is None:
        raise ValueError(f"demo_records needs a timezone-aware now, not {now.isoformat()}")
    demo = _Demo(now, seed)
    for item in CATALOGUE:
        yield item.record()
    drafts = [demo.draft(scenario) for scenario in demo.scenarios(cases)]
    drafts.sort(key=lambda d: d.events[0][0])  # case numbers grow with the first event
    serials: Counter[date] = Counter()
    for draft in drafts:
        first = draft.events[0][0].date()
        serials[first] += 1
        case_id = f"BJ{first:%Y%m%d}{serials[first]:05d}"
        yield {
            "type": "case",
            "case_id": case_id,
            "item_code": draft.item_code,
            "department": draft.department,
            "applicant": draft.applicant,
            "attributes": draft.attributes,
        }
        for n, (at, kind, actors, attributes) in enumerate(draft.events, start=1):
            what = attributes.get("what") if kind == "disclosed" else None
            if what == "decision":
                column = "xzcf" if draft.item_type == "penalty" else "xzxk"
                attributes = {**attributes, "url": f"https://xygs.example.org/sgs/{column}/{case_id}"}
            elif what in ("application_village", *(f"funds_{level}" for level in FUNDS_LEVELS)):
                attributes = {**attributes, "url": f"https://hmzj.example.org/gk/{case_id}/{what}"}
            yield {
                "type": "event",
                "event_id": f"{case_id}-{n:02d}",
                "case_id": case_id,
                "kind": kind,
                "at": at.isoformat(timespec="seconds"),
                "actors": list(actors),
                "attributes": attributes,
            }


class _Demo:
    """The random source, the calendar and the day arithmetic shared by every case."""

    def __init__(self, now: datetime, seed: int) -> None:
        self.rng = random.Random(seed)
        self.cal = WorkCalendar.default()
        self.now = now.astimezone(TZ)
        self.today = self.now.date()
        # w1: the last working day up to today; every "k working days ago" counts back from it.
        self.w1 = self.today
        while not self.cal.is_workday(self.w1):
            self.w1 -= timedelta(days=1)
        # ref: the last day that can still take events (today only once the office is open).
        if self.w1 == self.today and self.now.time() >= TODAY_USABLE_FROM:
            self.ref = self.today
        else:
            self.ref = self.cal.working_days_before(self.w1, 1) if self.w1 == self.today else self.w1
        self.staff = {dept: self._staff() for dept in DEPARTMENTS}
        self.handlers: dict[str, Callable[[_Item, dict[str, Any]], list[_Placed]]] = {
            "clean": self._clean,
            "overdue": self._overdue,
            "nearly_due": self._nearly_due,
            "undisclosed": self._undisclosed,
            "disclosure_due": self._disclosure_due,
            "no_acceptance": self._no_acceptance,
            "double_correction": self._double_correction,
            "fee_mismatch": self._fee_mismatch,
            "unlisted": self._unlisted,
            "paused": self._paused,
            "extended": self._extended,
            "one_officer": self._one_officer,
            "spot_fine": self._spot_fine,
            "no_statement": self._no_statement,
            "no_hearing_right": self._no_hearing_right,
            "complaint_overdue": self._complaint_overdue,
            "unregistered": self._unregistered,
            "funds_undisclosed": self._funds_undisclosed,
            "gov_info_overdue": self._gov_info_overdue,
            "misrecorded": self._misrecorded,
        }
        self.by_type: dict[str, list[_Item]] = {}
        for item in CATALOGUE:
            self.by_type.setdefault(item.item_type, []).append(item)

    # -- people ------------------------------------------------------------------------

    def name(self) -> str:
        rng = self.rng
        given = rng.choice(_GIVEN_ONE) if rng.random() < 0.3 else rng.choice(_GIVEN_TWO)
        return rng.choice(_SURNAMES) + given

    def _staff(self) -> _Staff:
        def names(n: int) -> tuple[str, ...]:
            return tuple(self.name() for _ in range(n))

        return _Staff(names(4), names(3), names(2), names(6), names(2), names(1))

    def id_number(self) -> str:
        """18 digits: birthplace, birth date, sequence and the GB 11643 check digit."""
        rng = self.rng
        born = self.today - timedelta(days=rng.randint(20 * 365, 68 * 365))
        body = f"{rng.choice(_AREAS)}{born:%Y%m%d}{rng.randint(1, 999):03d}"
        weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
        total = sum(int(c) * w for c, w in zip(body, weights, strict=True))
        return body + "10X98765432"[total % 11]

    def credit_code(self) -> str:
        """统一社会信用代码: registration type, district, organisation code, GB 32100 check."""
        rng = self.rng
        org = "".join(str(rng.randint(0, 9)) for _ in range(8))
        org_weights = (3, 7, 9, 10, 5, 8, 4, 2)
        c9 = 11 - sum(int(c) * w for c, w in zip(org, org_weights, strict=True)) % 11
        org += "X" if c9 == 10 else "0" if c9 == 11 else str(c9)
        body = f"91{rng.choice(_AREAS[:10])}{org}"
        charset = "0123456789ABCDEFGHJKLMNPQRTUWXY"
        weights = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
        total = sum(charset.index(c) * w for c, w in zip(body, weights, strict=True))
        return body + charset[(31 - total % 31) % 31]

    def phone(self) -> str:
        digits = "".join(str(self.rng.randint(0, 9)) for _ in range(8))
        return self.rng.choice(_MOBILE_PREFIXES) + digits

    def applicant(self, item: _Item, party_type: str) -> dict[str, str]:
        if party_type == "person":
            return {"name": self.name(), "id_number": self.id_number(), "phone": self.phone()}
        company = self.rng.choice(_BRANDS) + self.rng.choice(item.trades)
        return {"name": company, "id_number": self.credit_code(), "phone": self.phone()}

    # -- days --------------------------------------------------------------------------

    def ago(self, day: date) -> int:
        """Working days from `day` to the last working day up to today (start not counted)."""
        return self.cal.working_days_between(day, self.w1)

    def place(self, steps: list[_Step], anchor: date, anchor_offset: int = 0) -> list[_Placed]:
        """Put a plan on the calendar with the step at `anchor_offset` on `anchor`."""
        cal = self.cal
        out = []
        for s in sorted(steps, key=lambda s: s.offset):  # stable: same-day steps keep order
            shift = s.offset - anchor_offset
            day = (
                cal.add_working_days(anchor, shift) if shift >= 0 else cal.working_days_before(anchor, -shift)
            )
            out.append(_Placed(day, s.kind, s.actors, s.attributes, s.soon))
        return [p for p in out if p.day <= self.ref]

    def clock(self, placed: list[_Placed]) -> list[tuple[datetime, str, tuple[str, ...], dict[str, Any]]]:
        """Times of day in office hours, increasing within a day, never after `now`; a `soon`
        step follows the one before it within a few minutes (same visit, on-the-spot fine)."""
        out = []
        for day, group in groupby(placed, key=lambda p: p.day):
            steps = list(group)
            opens = datetime.combine(day, OFFICE_OPEN, tzinfo=TZ)
            closes = datetime.combine(day, OFFICE_CLOSE, tzinfo=TZ)
            if day == self.today:
                closes = min(closes, self.now - timedelta(minutes=1))
            span = int((closes - opens) / timedelta(minutes=1))
            room = max(span - SOON_MINUTES * len(steps), len(steps))
            # Spread base times, then leave SOON_MINUTES after each so a `soon` step fits.
            base = sorted(self.rng.sample(range(room), len(steps)))
            minute = 0
            for i, (p, b) in enumerate(zip(steps, base, strict=True)):
                if p.soon and i > 0:
                    minute += self.rng.randint(1, SOON_MINUTES)
                else:
                    minute = b + SOON_MINUTES * i
                at = opens + timedelta(minutes=minute, seconds=self.rng.randint(0, 59))
                out.append((at, p.kind, p.actors, dict(p.attributes)))
        return out

    # -- the case mix ------------------------------------------------------------------

    def scenarios(self, cases: int) -> list[str]:
        out: list[str] = []
        for name, share in MIX:
            out += [name] * int(cases * share + 0.5)
        out = out[:cases]
        out += ["clean"] * (cases - len(out))
        self.rng.shuffle(out)
        return out

    def pick(self, items: list[_Item]) -> _Item:
        return self.rng.choices(items, weights=[i.volume for i in items])[0]

    def draft(self, scenario: str) -> _Draft:
        rng = self.rng
        licensing = self.by_type["licensing"]
        penalties = [i for i in self.by_type["penalty"] if i.fines[0] >= 1_000]
        if scenario == "clean":
            item = self.pick(list(CATALOGUE))
        elif scenario == "no_hearing_right":  # a fine that reaches the threshold for any party
            item = self.pick([i for i in penalties if i.fines[1] >= HEARING_THRESHOLD["organization"]])
        elif scenario in ("one_officer", "spot_fine", "no_statement") or (
            scenario in ("undisclosed", "disclosure_due") and rng.random() < 0.3
        ):
            item = self.pick(penalties)
        elif scenario == "complaint_overdue":
            item = self.pick(self.by_type["complaint"])
        elif scenario == "unregistered":
            item = self.pick([i for i in CATALOGUE if i.important])
        elif scenario == "funds_undisclosed":
            item = self.pick([i for i in CATALOGUE if i.funds])
        elif scenario == "gov_info_overdue":
            item = self.pick([i for i in CATALOGUE if i.gov_info])
        elif scenario == "fee_mismatch" and rng.random() < 0.5:
            item = self.pick([i for i in CATALOGUE if i.fee])
        elif scenario in ("nearly_due", "extended", "misrecorded"):
            item = self.pick([i for i in licensing if i.promised >= 5])
        elif scenario == "unlisted":
            base = self.pick(licensing)
            item = _Item(
                rng.choice(UNLISTED_CODES),
                "",
                "licensing",
                rng.choice(DEPARTMENTS),
                20,
                10,
                WORKING,
                "",
                1,
                0.3,
                base.trades,
            )
        else:
            item = self.pick(licensing)
        party_type = "person" if rng.random() < item.persons else "organization"
        applicant = self.applicant(item, party_type)
        attributes: dict[str, Any] = {"party_type": party_type}
        placed = self.handlers[scenario](item, attributes)
        if attributes.get("anonymous"):
            applicant = {}  # an anonymous complaint records no complainant
        timed = self.clock(placed)
        if scenario == "misrecorded":
            timed = _swap_times(timed, "accepted", "decided")
        return _Draft(item.code, item.item_type, item.department, applicant, attributes, timed)

    # -- clean cases -------------------------------------------------------------------

    def _clean(self, item: _Item, attributes: dict[str, Any]) -> list[_Placed]:
        """A correct case; open ones are caught mid-way and well inside every limit."""
        return self._settle(lambda: self.plan(item, attributes), item, attributes, may_be_open=True)

    def _settle(
        self,
        build: Callable[[], list[_Step]],
        item: _Item,
        attributes: dict[str, Any],
        *,
        may_be_open: bool,
        kept: Callable[[list[_Placed]], bool] = lambda placed: True,
        excused: frozenset[str] = frozenset(),
    ) -> list[_Placed]:
        """Place a plan so that it ends before now (or, if it may, is caught mid-way) without
        breaking any rule but the `excused` checks; `kept` says whether the part that
        happened shows the point."""
        placed: list[_Placed] = []
        for attempt in range(12):
            steps = build()
            last = max(s.offset for s in steps)
            # Open cases are caught anywhere in their flow; closed ones ended before now.
            early = may_be_open and attempt < 6
            back = self.rng.randint(0, 60) if early else last + self.rng.randint(0, 40)
            placed = self.place(steps, self.cal.working_days_before(self.ref, back))
            whole = may_be_open or len(placed) == len(steps)
            if whole and kept(placed) and self.quiet(item, placed, attributes, excused):
                break
        undecided = not any(p.kind == "decided" for p in placed)
        if undecided and attributes.get("procedure") != "summary":
            attributes.pop("fine_amount", None)  # the fine is not known before the decision
        return placed

    def in_time(self, start: date | None, stop: date | None, limit: int, unit: str, left: int) -> bool:
        """A clock of `limit` days from `start` (the start day not counted) stopped by its last
        day, or, still running, is not yet yellow: `left` is the yellow margin in days counting
        the last day (1 for a red-only clock). Natural-day clocks roll over rest days when they
        stop; a running one is judged without the roll-over, which only makes it stricter."""
        if start is None:
            return True
        if unit == WORKING:
            if stop is not None:
                return self.cal.working_days_between(start, stop) <= limit
            return self.ago(start) <= limit - left
        if stop is not None:
            return stop <= self.cal.add_natural_days(start, limit, roll_over_holidays=True)
        return (self.today - start).days <= limit - left

    def overdue(self, start: date | None, limit: int) -> bool:
        """A natural-day clock (rolled over) from `start` has run out before today."""
        return (
            start is not None
            and self.cal.add_natural_days(start, limit, roll_over_holidays=True) < self.today
        )

    def quiet(
        self,
        item: _Item,
        placed: list[_Placed],
        attributes: dict[str, Any],
        excused: frozenset[str] = frozenset(),
    ) -> bool:
        """True when no shipped rule (rules/*.yaml), and no limit a city would watch, can warn
        about this case as of now; `excused` names the checks a scenario breaks on purpose
        (publish, registration, funds_city, funds_county, funds_village)."""
        first: dict[str, date] = {}
        counts: Counter[str] = Counter()
        for p in placed:
            first.setdefault(p.kind, p.day)
            counts[p.kind] += 1

        def earliest(*kinds: str, **match: str) -> date | None:
            return next(
                (
                    p.day
                    for p in placed
                    if p.kind in kinds and all(p.attributes.get(k) == v for k, v in match.items())
                ),
                None,
            )

        kind = item.item_type
        received = first.get("received")
        answered = earliest("accepted", "rejected", "correction_requested", "decided")
        if item.gov_info:
            if not self.gov_info_in_time(item, placed, first, counts):
                return False
        elif received is not None and answered is None and self.ago(received) > 2:
            return False
        if kind == "licensing" and not self.in_time(received, answered, ACCEPT_DAYS, WORKING, 1):
            return False
        if counts["correction_requested"] > counts["correction_received"]:
            return False
        # The catalogue's promise (licensing: the promise and the legal limit, with pause and
        # extension), judged at 70 % while the case is open. An enforcement measure counts from
        # the measure to the next decision or the closing (rules/general.yaml).
        start = first.get("accepted") or first.get("filed") or received
        stop = first.get("replied" if kind == "complaint" else "decided") or first.get("rejected")
        if kind == "enforcement":
            start, stop = first.get("decided"), first.get("closed")
        if item.gov_info:
            start = None  # gov_info_in_time counted it
        if start is not None and item.unit != HOURS and not self.within_promise(item, first, start, stop):
            return False
        if item.unit == HOURS and stop is None and placed and placed[0].day != self.today:
            return False
        decided, delivered = first.get("decided"), first.get("delivered")
        if decided is not None and delivered is None and self.ago(decided) > 4:
            return False
        if kind in ("licensing", "penalty") and attributes.get("procedure") != "summary":
            limit = LICENCE_DELIVER_DAYS if kind == "licensing" else PENALTY_DELIVER_DAYS
            if not self.in_time(decided, delivered, limit, WORKING, 2):
                return False
        if (
            kind in ("licensing", "penalty")
            and "publish" not in excused
            and not attributes.get("disclosure_exempt")
        ):
            made = next(
                (
                    p.day
                    for p in placed
                    if p.kind == "decided" and p.attributes.get("result") not in ("rejected", "no_penalty")
                ),
                None,
            )
            published = earliest("disclosed", what="decision")
            if not self.in_time(made, published, DISCLOSURE_DAYS, WORKING, 2):
                return False
        if item.important and "registration" not in excused:
            registered = earliest("disclosed", what="registration")
            if not self.in_time(decided, registered, REGISTRATION_DAYS, NATURAL, 2):
                return False
        if kind == "complaint" and not self.complaint_in_time(first, attributes):
            return False
        if item.funds:
            if not self.in_time(
                received, earliest("disclosed", what="application_village"), FUNDS_DAYS, NATURAL, 2
            ):
                return False
            for level in FUNDS_LEVELS:
                arrived = earliest("funds_arrived", level=level)
                shown = earliest("disclosed", what=f"funds_{level}")
                if f"funds_{level}" not in excused and not self.in_time(
                    arrived, shown, FUNDS_DAYS, NATURAL, 2
                ):
                    return False
        if kind == "penalty" and delivered is not None and "fine_paid" not in first:
            return (self.today - delivered).days <= 10
        return True

    def within_promise(
        self,
        item: _Item,
        first: Mapping[str, date],
        start: date,
        stop: date | None,
        extension: int = EXTENSION_DAYS,
    ) -> bool:
        """The catalogue's promise from `start`: an expert-review pause does not count (and may
        last PAUSE_MAX_DAYS), an approved extension adds its days; 70 % while still open."""
        unit = item.unit

        def span(a: date, b: date) -> int:
            return self.cal.working_days_between(a, b) if unit == WORKING else (b - a).days

        suspended, resumed = first.get("suspended"), first.get("resumed")
        end = stop or (self.w1 if unit == WORKING else self.today)
        paused = 0
        if suspended is not None:
            if ((resumed or self.today) - suspended).days > PAUSE_MAX_DAYS:
                return False
            if resumed is None:
                end = min(end, suspended)  # the clock stands still while the pause runs
            else:
                paused = span(suspended, resumed)
        used = span(start, end) - paused
        limit = item.promised + (extension if "extended" in first else 0)
        return used <= (limit if stop else 0.7 * limit)

    def gov_info_in_time(
        self, item: _Item, placed: list[_Placed], first: Mapping[str, date], counts: Counter[str]
    ) -> bool:
        """An application for government information (rules/gov_info.yaml): one correction
        notice within 7 working days; a consultation shorter than the third party's 15 working
        days; the reply within the promise from the receipt, or from the corrected application."""
        received = first.get("received")
        if received is None:
            return True
        notice = first.get("correction_requested")
        if notice is not None:
            if counts["correction_requested"] > 1:
                return False
            if self.cal.working_days_between(received, notice) > GOV_INFO_NOTICE_DAYS:
                return False
        suspended = first.get("suspended")
        if suspended is not None:
            until = first.get("resumed") or self.w1
            if self.cal.working_days_between(suspended, until) > GOV_INFO_PAUSE_DAYS:
                return False
        start = first.get("correction_received") if notice is not None else received
        if start is None:
            return True  # waiting for the applicant's correction: no clock runs
        stop = min(
            (p.day for p in placed if p.kind in ("replied", "decided", "delivered", "rejected", "closed")),
            default=None,
        )
        return self.within_promise(item, first, start, stop, GOV_INFO_EXTENSION_DAYS)

    def complaint_in_time(self, first: Mapping[str, date], attributes: Mapping[str, Any]) -> bool:
        """Accepted, answered and (unless anonymous or declined) followed up in time."""
        accepted = first.get("accepted")
        answered = min((first[k] for k in ("accepted", "rejected") if k in first), default=None)
        replied = min((first[k] for k in ("replied", "delivered") if k in first), default=None)
        reply_left = COMPLAINT_REPLY_DAYS - math.ceil(YELLOW_SHARE * COMPLAINT_REPLY_DAYS) + 1
        no_follow_up = attributes.get("anonymous") or attributes.get("follow_up_declined")
        return (
            self.in_time(first.get("received"), answered, COMPLAINT_ACCEPT_DAYS, NATURAL, 1)
            and self.in_time(accepted, replied, COMPLAINT_REPLY_DAYS, NATURAL, reply_left)
            and (
                bool(no_follow_up)
                or self.in_time(replied, first.get("followed_up"), FOLLOW_UP_DAYS, NATURAL, 2)
            )
        )

    # -- plans -------------------------------------------------------------------------

    def plan(self, item: _Item, attributes: dict[str, Any]) -> list[_Step]:
        """The ordinary flow of an item of this type."""
        if item.item_type == "penalty":
            return self.penalty_plan(item, attributes)
        if item.item_type == "complaint":
            return self.complaint_plan(item, attributes)
        if item.funds:
            return self.funds_plan(item)
        if item.gov_info:
            return self.gov_info_plan(item)
        if item.item_type in ("inspection", "enforcement"):
            return self.field_plan(item)
        return self.application_plan(item)

    def decide_after(self, item: _Item) -> int:
        """Working days from acceptance to decision, inside the promise."""
        if item.unit == HOURS:
            return 0
        if item.unit == NATURAL:
            return self.rng.randint(1, max(1, item.promised * 5 // 7 - 2))
        low = max(1, item.promised // 3)
        return self.rng.randint(low, item.promised)

    def application_plan(
        self,
        item: _Item,
        *,
        corrections: int = 0,
        accept: bool = True,
        fee: int | None = None,
        pause: bool = False,
        extension: bool = False,
        disclose: bool = True,
        register: bool = True,
        outcome: str | None = None,
    ) -> list[_Step]:
        """Apply → (correct) → accept → review → decide → deliver → disclose (and register an
        important power's use) → close."""
        rng = self.rng
        staff = self.staff[item.department]
        clerk, reviewer, head = rng.choice(staff.clerks), rng.choice(staff.reviewers), rng.choice(staff.heads)
        same_day = item.unit == HOURS
        channel = rng.choice(("window", "window", "online"))
        steps = [_Step(0, "received", (clerk,), {"channel": channel})]
        if outcome is None:
            roll = rng.random()
            outcome = "refused_intake" if roll < 0.03 else "rejected" if roll < 0.1 else "approved"
        if outcome == "refused_intake" and not same_day:
            reason = rng.choice(_INTAKE_REASONS)
            return [*steps, _Step(rng.randint(1, 3), "rejected", (clerk,), {"reason": reason})]
        day = 0
        for _ in range(corrections):
            day += rng.randint(0, 2) if day == 0 else rng.randint(0, 1)
            missing = rng.sample(_MISSING_DOCS, k=rng.randint(1, 3))
            steps.append(_Step(day, "correction_requested", (clerk,), {"missing": missing}))
            day += rng.randint(1, 5)
            steps.append(_Step(day, "correction_received", (clerk,)))
        if not same_day:
            day += rng.randint(1, 3) if corrections == 0 else rng.randint(0, 1)
        accepted = day
        if accept:
            steps.append(_Step(accepted, "accepted", (clerk,)))
        charge = item.fee if fee is None else fee
        if charge:
            steps.append(_Step(accepted, "fee_charged", (clerk,), {"amount": charge}, soon=accept))
        promised = item.promised
        if pause:
            # In time only because the pause does not count: s + r <= promised < s + L + r.
            s = rng.randint(1, promised - 1)
            r = rng.randint(1, promised - s)
            length = max(5, promised - s - r + 1) + rng.randint(0, 4)
            resumed = accepted + s + length
            steps += [
                _Step(accepted + rng.randint(0, s), "reviewed", (reviewer,)),
                _Step(accepted + s, "suspended", (reviewer,), {"reason": "expert_review"}),
                _Step(resumed, "resumed", (reviewer,)),
            ]
            decided = resumed + r
        elif extension:
            e = rng.randint(max(1, promised - 3), promised - 1)
            steps += [
                _Step(accepted + rng.randint(0, e), "reviewed", (reviewer,)),
                _Step(accepted + e, "extended", (reviewer,), {"days": 10, "approved_by": "分管副局长"}),
            ]
            decided = accepted + promised + rng.randint(2, 8)
        else:
            decided = accepted + self.decide_after(item)
            reviewed = accepted if same_day else accepted + rng.randint(0, max(0, decided - accepted - 1))
            steps.append(_Step(reviewed, "reviewed", (reviewer,)))
        result: dict[str, Any] = {"result": "approved"}
        if outcome == "rejected":
            result = {"result": "rejected", "reason": rng.choice(_REFUSAL_REASONS)}
        steps.append(_Step(decided, "decided", (head,), result))
        delivered = decided if same_day else decided + rng.randint(0, 5)
        steps.append(_Step(delivered, "delivered", (clerk,)))
        end = delivered
        if register:
            for registration in self.registration(item, decided):
                steps.append(registration)
                end = max(end, registration.offset)
        if disclose and item.item_type == "licensing" and result["result"] == "approved":
            published = decided + rng.choices(range(1, 8), weights=(4, 5, 4, 3, 2, 1, 1))[0]
            steps.append(_Step(published, "disclosed", (rng.choice(staff.publishers),), {"what": "decision"}))
            end = max(end, published)
        steps.append(_Step(end if same_day else end + rng.randint(0, 2), "closed", (clerk,)))
        return steps

    def penalty_plan(
        self,
        item: _Item,
        attributes: dict[str, Any],
        *,
        officers: int = 2,
        spot: bool = False,
        disclose: bool = True,
        heard: bool = True,
        offer_hearing: bool = True,
    ) -> list[_Step]:
        """File → investigate → notify → statement (hearing) → legal review → decide → ...

        `heard=False` leaves out the statement (or its waiver); `offer_hearing=False` fines at
        least the party's hearing threshold and does not offer a hearing."""
        rng = self.rng
        staff = self.staff[item.department]
        party = attributes["party_type"]
        low, high, step = item.fines
        if not offer_hearing:  # the lowest fine on the item's scale that reaches the threshold
            low = min(high, max(low, -(-HEARING_THRESHOLD[party] // step) * step))
        fine = rng.randrange(low, high + 1, step)
        team = tuple(rng.sample(staff.officers, 2))
        head, lead = rng.choice(staff.heads), team[0]
        host, reviewer = rng.sample(staff.lawyers, 2)  # hearing host and legal reviewer differ
        if high <= 200:
            attributes.update(procedure="summary", fine_amount=fine, disclosure_exempt=True)
            attributes["disclosure_exempt_reason"] = _SUMMARY_EXEMPTION
            channel = "on_the_spot" if fine <= 100 else "online"
            # The on-the-spot decision form records that the officers stated the facts, reasons,
            # basis and rights and heard the party (第四十四条、第四十五条、第五十二条).
            decision = {"fine_amount": fine, "notified_on_the_spot": True}
            return [
                _Step(0, "decided", team, decision),
                _Step(0, "delivered", (lead,), soon=True),
                _Step(0, "fine_paid", (lead,), {"channel": channel, "amount": fine}, soon=True),
                _Step(rng.randint(0, 1), "closed", (lead,)),
            ]
        # A fine at the local threshold carries the right to a hearing; fewer than half ask.
        qualifies = fine >= HEARING_THRESHOLD[party]
        hearing = qualifies and heard and offer_hearing and rng.random() < 0.4
        attributes.update(procedure="hearing" if hearing else "general", fine_amount=fine)
        day = rng.randint(1, 5)
        steps = [
            _Step(0, "filed", (lead,)),
            _Step(day, "investigated", team[:officers]),
        ]
        day += rng.randint(3, 12)
        notice = {"hearing_right": qualifies and offer_hearing}
        steps.append(_Step(day, "pre_decision_notice", (lead,), notice))
        day += rng.randint(1, 3)
        if not heard:
            pass  # decided without hearing the party and without a record that it waived
        elif hearing or rng.random() < 0.6:
            steps.append(_Step(day, "statement_heard", team))
        else:
            steps.append(_Step(day, "statement_waived", (lead,)))
        if hearing:
            day += rng.randint(0, 2)
            steps.append(_Step(day, "hearing_notified", (lead,)))
            day += rng.randint(7, 10)  # notice at least 7 working days before the hearing
            steps.append(_Step(day, "hearing_held", (host,)))
        day += rng.randint(1, 4)
        steps.append(_Step(day, "legal_review", (reviewer,), {"opinion": "同意"}))
        decided = day + rng.randint(1, 3)
        steps.append(_Step(decided, "decided", (head,), {"fine_amount": fine}))
        delivered = decided + rng.randint(0, 4)
        steps.append(_Step(delivered, "delivered", (lead,)))
        paid = delivered + rng.randint(1, 6)
        channel = "on_the_spot" if spot else "bank"
        steps.append(_Step(paid, "fine_paid", (), {"channel": channel, "amount": fine}))
        end = paid
        if disclose:
            published = decided + rng.randint(1, 6)
            steps.append(_Step(published, "disclosed", (rng.choice(staff.publishers),), {"what": "decision"}))
            end = max(end, published)
        steps.append(_Step(end + rng.randint(0, 2), "closed", (lead,)))
        return steps

    def complaint_plan(self, item: _Item, attributes: dict[str, Any]) -> list[_Step]:
        """受理 → (督办) → 办理 → 答复 → 回访 → 办结 (accept → handle → reply → follow up → close).
        An anonymous complainant, or one who declined the call, gets no 回访."""
        rng = self.rng
        staff = self.staff[item.department]
        clerk, handler = rng.choice(staff.clerks), rng.choice(staff.reviewers)
        roll = rng.random()
        if roll < 0.08:
            attributes["anonymous"] = True
        elif roll < 0.15:
            attributes["follow_up_declined"] = True
        accepted = rng.randint(0, 1)
        replied = accepted + rng.randint(1, max(1, item.promised * 5 // 7 - 3))
        steps = [
            _Step(0, "received", (clerk,), {"channel": rng.choice(("hotline", "hotline", "online"))}),
            _Step(accepted, "accepted", (clerk,)),
            _Step(rng.randint(accepted, replied), "reviewed", (handler,)),
        ]
        if rng.random() < 0.1:
            steps.append(_Step(rng.randint(accepted, replied), "supervised", (rng.choice(staff.heads),)))
        method = rng.choice(("phone", "phone", "sms", "letter"))
        steps.append(_Step(replied, "replied", (handler,), {"method": method}))
        end = replied
        if not attributes.get("anonymous") and not attributes.get("follow_up_declined"):
            end = replied + rng.choices((0, 1, 2), weights=(2, 3, 2))[0]
            satisfied = rng.random() < 0.9
            steps.append(_Step(end, "followed_up", (clerk,), {"satisfied": satisfied}))
        steps.append(_Step(end + rng.randint(0, 1), "closed", (clerk,)))
        return steps

    def funds_plan(self, item: _Item, *, undisclosed: str | None = None) -> list[_Step]:
        """三级四次公开: apply → the application shown in the village → accept → review →
        approve → the funds reach the city, the county and the village, each stage disclosed
        (but the `undisclosed` level) → close."""
        rng = self.rng
        staff = self.staff[item.department]
        clerk, reviewer, head = rng.choice(staff.clerks), rng.choice(staff.reviewers), rng.choice(staff.heads)
        publisher = rng.choice(staff.publishers)
        amount = rng.randrange(300, 20_001, 10)

        def soon() -> int:
            return rng.choices((0, 1, 2, 3), weights=(2, 4, 3, 1))[0]

        accepted = rng.randint(1, 2)
        decided = accepted + self.decide_after(item)
        steps = [
            _Step(0, "received", (clerk,), {"channel": rng.choice(("window", "village"))}),
            _Step(1 + soon(), "disclosed", (publisher,), {"what": "application_village"}),
            _Step(accepted, "accepted", (clerk,)),
            _Step(rng.randint(accepted, max(accepted, decided - 1)), "reviewed", (reviewer,)),
            _Step(decided, "decided", (head,), {"result": "approved", "amount": amount}),
            _Step(decided + rng.randint(0, 3), "delivered", (clerk,)),
        ]
        day = decided
        for level in FUNDS_LEVELS:
            day += rng.randint(2, 6)
            steps.append(_Step(day, "funds_arrived", (), {"level": level, "amount": amount}))
            if level != undisclosed:
                steps.append(_Step(day + soon(), "disclosed", (publisher,), {"what": f"funds_{level}"}))
        end = max(s.offset for s in steps)
        steps.append(_Step(end + rng.randint(0, 2), "closed", (clerk,)))
        return steps

    def gov_info_plan(self, item: _Item) -> list[_Step]:
        """依申请公开: receive → (one correction notice → the corrected application) → (consult a
        third party or another authority, 第三十二条) → (extend once, 第三十三条) → reply → close.
        The reply comes inside the promise as the rules count it: from the receipt or the
        corrected application, the consultation not counted, an approved extension added."""
        rng = self.rng
        staff = self.staff[item.department]
        clerk, handler, head = rng.choice(staff.clerks), rng.choice(staff.reviewers), rng.choice(staff.heads)
        channel = rng.choice(("online", "online", "window", "mail"))
        steps = [_Step(0, "received", (clerk,), {"channel": channel})]
        start = 0
        roll = rng.random()
        if roll < 0.2:  # an unclear application (第三十条)
            notice = rng.randint(1, GOV_INFO_NOTICE_DAYS - 2)
            start = notice + rng.randint(1, 4)
            steps += [
                _Step(
                    notice,
                    "correction_requested",
                    (clerk,),
                    {"missing": ["所需政府信息的名称、文号或特征描述"]},
                ),
                _Step(start, "correction_received", (clerk,)),
            ]
        promised = item.promised
        if 0.2 <= roll < 0.35:  # 征求第三方或其他机关意见: not counted
            counted = rng.randint(1, promised - 2)
            length = rng.randint(3, 10)
            reason = rng.choice(("third_party", "third_party", "other_agency"))
            steps += [
                _Step(start + counted, "suspended", (handler,), {"reason": reason}),
                _Step(start + counted + length, "resumed", (handler,)),
            ]
            replied = start + length + rng.randint(counted + 1, promised)
        elif 0.35 <= roll < 0.45:  # extended once with the office head's consent, before the end
            asked = rng.randint(max(1, promised - 5), promised - 1)
            approval = {"days": GOV_INFO_EXTENSION_DAYS, "approved_by": "政府信息公开工作机构负责人"}
            steps.append(_Step(start + asked, "extended", (head,), approval))
            replied = start + promised + rng.randint(1, 10)
        else:
            replied = start + rng.randint(max(1, promised // 3), promised)
        result = rng.choices(
            ("disclosed", "partly_disclosed", "not_disclosed", "not_found", "already_public"),
            weights=(5, 2, 1, 1, 1),
        )[0]
        steps.append(_Step(replied, "replied", (handler,), {"result": result}))
        steps.append(_Step(replied + rng.randint(0, 1), "closed", (clerk,)))
        return steps

    def registration(self, item: _Item, decided: int, *, same_day: bool = False) -> list[_Step]:
        """The 动态运行情况登记表 of a decision on an important power, a few days after it (or
        on the day, for a decision so recent that a later registration may not be in yet)."""
        if not item.important:
            return []
        day = decided + (0 if same_day else self.rng.choices((0, 1, 2), weights=(3, 4, 2))[0])
        publisher = self.rng.choice(self.staff[item.department].publishers)
        return [_Step(day, "disclosed", (publisher,), {"what": "registration", "form": "动态运行情况登记表"})]

    def field_plan(self, item: _Item) -> list[_Step]:
        """Inspections and enforcement measures start from a filing, not an application."""
        rng = self.rng
        staff = self.staff[item.department]
        team = tuple(rng.sample(staff.officers, 2))
        investigated = rng.randint(0, 2)
        decided = investigated + rng.randint(1, max(1, self.decide_after(item) - investigated))
        measure = {"result": "approved"}
        if item.item_type == "enforcement":
            measure["measure"] = rng.choice(("查封", "扣押"))
        return [
            _Step(0, "filed", (team[0],)),
            _Step(investigated, "investigated", team),
            _Step(decided, "decided", (rng.choice(staff.heads),), measure),
            _Step(decided + rng.randint(0, 2), "delivered", (team[0],)),
            _Step(decided + rng.randint(3, 5), "closed", (team[0],)),
        ]

    # -- cases that break one rule -----------------------------------------------------

    def _overdue(self, item: _Item, attributes: dict[str, Any]) -> list[_Placed]:
        """Accepted more than the promised working days ago, still no decision."""
        used = self.rng.randint(item.promised + 1, min(item.promised + 8, item.legal - 1))
        return self._waiting(item, used)

    def _nearly_due(self, item: _Item, attributes: dict[str, Any]) -> list[_Placed]:
        """80–95 % of the promised working days used (the engine's own share arithmetic)."""
        low = math.ceil(0.8 * item.promised)
        high = max(low, min(item.promised - 1, math.floor(0.95 * item.promised)))
        return self._waiting(item, self.rng.randint(low, high))

    def _waiting(self, item: _Item, used: int) -> list[_Placed]:
        rng = self.rng
        staff = self.staff[item.department]
        clerk = rng.choice(staff.clerks)
        accepted = self.cal.working_days_before(self.w1, used)
        received_after = rng.randint(1, 3)
        steps = [
            _Step(0, "received", (clerk,), {"channel": rng.choice(("window", "online"))}),
            _Step(received_after, "accepted", (clerk,)),
            _Step(
                received_after + rng.randint(1, min(used - 1, item.promised)),
                "reviewed",
                (rng.choice(staff.reviewers),),
            ),
        ]
        return self.place(steps, accepted, received_after)

    def _undisclosed(self, item: _Item, attributes: dict[str, Any]) -> list[_Placed]:
        return self._unpublished(item, attributes, self.rng.randint(8, 20), may_close=True)

    def _disclosure_due(self, item: _Item, attributes: dict[str, Any]) -> list[_Placed]:
        return self._unpublished(item, attributes, DISCLOSURE_DAYS - 1, may_close=False)

    def _unpublished(
        self, item: _Item, attributes: dict[str, Any], ago: int, *, may_close: bool
    ) -> list[_Placed]:
        """Decided `ago` working days before the last working day, never disclosed (but
        correct otherwise: delivered, an important power registered)."""
        placed: list[_Placed] = []
        for _ in range(20):
            if item.item_type == "penalty":
                steps = self.penalty_plan(item, attributes, disclose=False)
            else:
                steps = self.application_plan(item, disclose=False, outcome="approved")
            decided = next(s.offset for s in steps if s.kind == "decided")
            if not may_close or self.rng.random() < 0.5:
                steps = [s for s in steps if s.kind != "closed"]
            placed = self.place(steps, self.cal.working_days_before(self.w1, ago), decided)
            late = [s for s in steps if s.offset > decided]
            in_view = all(s.offset - decided < ago for s in late)
            if in_view and self.quiet(item, placed, attributes, frozenset({"publish"})):
                break
        return placed

    def _no_acceptance(self, item: _Item, attributes: dict[str, Any]) -> list[_Placed]:
        """Received a few days ago and decided without being accepted (recent, so that the
        acceptance clock — which `decided` does not stop — has not run out as well)."""
        rng = self.rng
        staff = self.staff[item.department]
        clerk = rng.choice(staff.clerks)
        received_ago = rng.randint(3, 4)
        decided = rng.randint(1, received_ago - 1)
        steps = [
            _Step(0, "received", (clerk,), {"channel": "window"}),
            _Step(rng.randint(0, decided), "reviewed", (rng.choice(staff.reviewers),)),
            _Step(decided, "decided", (rng.choice(staff.heads),), {"result": "approved"}),
            _Step(decided + rng.randint(0, 1), "delivered", (clerk,)),
            *self.registration(item, decided, same_day=True),
        ]
        return self.place(steps, self.cal.working_days_before(self.w1, received_ago))

    def _misrecorded(self, item: _Item, attributes: dict[str, Any]) -> list[_Placed]:
        """A correct, decided case whose platform recorded the acceptance's and the decision's
        times the wrong way round (draft swaps them): the record contradicts itself."""
        return self._settle(
            lambda: self.plan(item, attributes),
            item,
            attributes,
            may_be_open=False,
            kept=lambda placed: {"accepted", "decided"} <= {p.kind for p in placed},
        )

    def _double_correction(self, item: _Item, attributes: dict[str, Any]) -> list[_Placed]:
        """Missing documents asked for twice instead of once (一次性告知)."""
        return self._settle(
            lambda: self.application_plan(item, corrections=2),
            item,
            attributes,
            may_be_open=True,
            kept=lambda placed: sum(p.kind == "correction_requested" for p in placed) == 2,
        )

    def _fee_mismatch(self, item: _Item, attributes: dict[str, Any]) -> list[_Placed]:
        if item.fee:
            wrong = self.rng.choice((item.fee + 20, item.fee * 2, 550 if item.fee == 80 else 25))
        else:
            wrong = self.rng.choice((100, 200, 300, 500))  # e.g. an "expert review fee"
        return self._settle(
            lambda: self.application_plan(item, fee=wrong, outcome="approved"),
            item,
            attributes,
            may_be_open=False,
        )

    def _unlisted(self, item: _Item, attributes: dict[str, Any]) -> list[_Placed]:
        return self._settle(
            lambda: self.application_plan(item, outcome="approved", disclose=False),
            item,
            attributes,
            may_be_open=False,
        )

    def _paused(self, item: _Item, attributes: dict[str, Any]) -> list[_Placed]:
        """Suspended for expert review (art. 45): late on the raw count, in time without it."""
        return self._settle(
            lambda: self.application_plan(item, pause=True, outcome="approved"),
            item,
            attributes,
            may_be_open=False,
        )

    def _extended(self, item: _Item, attributes: dict[str, Any]) -> list[_Placed]:
        """Extended by 10 working days with the deputy head's approval (art. 42)."""
        return self._settle(
            lambda: self.application_plan(item, extension=True, outcome="approved"),
            item,
            attributes,
            may_be_open=False,
        )

    def _one_officer(self, item: _Item, attributes: dict[str, Any]) -> list[_Placed]:
        return self._settle(
            lambda: self.penalty_plan(item, attributes, officers=1),
            item,
            attributes,
            may_be_open=False,
        )

    def _spot_fine(self, item: _Item, attributes: dict[str, Any]) -> list[_Placed]:
        return self._settle(
            lambda: self.penalty_plan(item, attributes, spot=True),
            item,
            attributes,
            may_be_open=False,
        )

    def _no_statement(self, item: _Item, attributes: dict[str, Any]) -> list[_Placed]:
        """Decided without hearing the party or a record that it waived (第四十五条、第六十二条)."""
        return self._settle(
            lambda: self.penalty_plan(item, attributes, heard=False),
            item,
            attributes,
            may_be_open=False,
        )

    def _no_hearing_right(self, item: _Item, attributes: dict[str, Any]) -> list[_Placed]:
        """A fine at the hearing threshold; the notice did not offer a hearing (第六十三条)."""
        return self._settle(
            lambda: self.penalty_plan(item, attributes, offer_hearing=False),
            item,
            attributes,
            may_be_open=False,
        )

    def _complaint_overdue(self, item: _Item, attributes: dict[str, Any]) -> list[_Placed]:
        """Accepted, supervised (督办), and still unanswered past the local reply limit."""
        rng = self.rng
        staff = self.staff[item.department]
        clerk, handler = rng.choice(staff.clerks), rng.choice(staff.reviewers)
        accepted = self.cal.working_days_before(self.w1, rng.randint(12, 18))
        while not self.overdue(accepted, COMPLAINT_REPLY_DAYS):
            accepted = self.cal.working_days_before(accepted, 1)
        received_after = rng.randint(0, 1)
        steps = [
            _Step(0, "received", (clerk,), {"channel": rng.choice(("hotline", "online"))}),
            _Step(received_after, "accepted", (clerk,)),
            _Step(received_after + rng.randint(1, 3), "reviewed", (handler,)),
            _Step(received_after + rng.randint(8, 10), "supervised", (rng.choice(staff.heads),)),
        ]
        return self.place(steps, accepted, received_after)

    def _unregistered(self, item: _Item, attributes: dict[str, Any]) -> list[_Placed]:
        """An important power used more than a week ago; no 动态运行情况登记表."""
        outcome = "rejected" if self.rng.random() < 0.2 else "approved"  # refusals owe it too

        def late(placed: list[_Placed]) -> bool:
            return self.overdue(next((p.day for p in placed if p.kind == "decided"), None), REGISTRATION_DAYS)

        return self._settle(
            lambda: self.application_plan(item, register=False, outcome=outcome),
            item,
            attributes,
            may_be_open=True,
            kept=late,
            excused=frozenset({"registration"}),
        )

    def _gov_info_overdue(self, item: _Item, attributes: dict[str, Any]) -> list[_Placed]:
        """An application for government information past its promise, some past the 20
        working days of 第三十三条 too, without a reply."""
        clerk = self.rng.choice(self.staff[item.department].clerks)
        received = self.cal.working_days_before(self.w1, self.rng.randint(item.promised + 1, item.legal + 4))
        return self.place([_Step(0, "received", (clerk,), {"channel": "online"})], received)

    def _funds_undisclosed(self, item: _Item, attributes: dict[str, Any]) -> list[_Placed]:
        """The funds reached one level more than a week ago; that stage was never disclosed."""
        level = self.rng.choice(FUNDS_LEVELS)

        def late(placed: list[_Placed]) -> bool:
            arrived = (
                p.day for p in placed if p.kind == "funds_arrived" and p.attributes.get("level") == level
            )
            return self.overdue(next(arrived, None), FUNDS_DAYS)

        return self._settle(
            lambda: self.funds_plan(item, undisclosed=level),
            item,
            attributes,
            may_be_open=True,
            kept=late,
            excused=frozenset({f"funds_{level}"}),
        )


def _swap_times(
    timed: list[tuple[datetime, str, tuple[str, ...], dict[str, Any]]], first: str, then: str
) -> list[tuple[datetime, str, tuple[str, ...], dict[str, Any]]]:
    """The steps with the first `first` and the first `then` given each other's time."""
    a = next((i for i, t in enumerate(timed) if t[1] == first), None)
    b = next((i for i, t in enumerate(timed) if t[1] == then), None)
    if a is None or b is None:
        return timed
    out = list(timed)
    out[a] = (timed[b][0], *timed[a][1:])
    out[b] = (timed[a][0], *timed[b][1:])
    return out
