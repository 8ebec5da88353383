"""Chinese names for what the records and rules say in English identifiers.

A notice is read by a discipline-inspection officer, not a programmer: no step kind, result,
category or attribute value may reach it as an identifier. The standard vocabulary of the
exchange format (docs/data-model.md) is named here; a rule set names the step kinds it
introduces (`event_kinds: {kind: 名称}`) and may name further attribute values (`values:`),
and a catalogue item may rename the steps of its own flow chart (`attributes.step_names`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from monitor.model import Case, PowerItem

STANDARD_EVENT_NAMES: Mapping[str, str] = {
    "received": "收件",
    "accepted": "受理",
    "rejected": "不予受理",
    "correction_requested": "补正告知",
    "correction_received": "补正材料收讫",
    "suspended": "暂停计时（特别程序）",
    "resumed": "恢复计时",
    "extended": "延长期限",
    "reviewed": "审查",
    "decided": "作出决定",
    "delivered": "送达",
    "closed": "办结",
    "disclosed": "公开公示",
    "fee_charged": "收费",
    "filed": "立案",
    "investigated": "调查取证",
    "pre_decision_notice": "处罚事先告知",
    "statement_heard": "听取陈述申辩",
    "statement_waived": "放弃陈述申辩",
    "hearing_notified": "听证通知",
    "hearing_held": "举行听证",
    "legal_review": "法制审核",
    "fine_paid": "缴纳罚款",
}

# Attribute values of the standard vocabulary, by attribute name.
STANDARD_VALUE_NAMES: Mapping[str, Mapping[str, str]] = {
    "result": {
        "approved": "准予",
        "rejected": "不予批准",
        "no_penalty": "不予行政处罚",
        "penalty": "给予行政处罚",
    },
    "what": {
        "decision": "决定公示（双公示）",
        "registration": "动态运行情况登记表",
        "application_village": "村级公开申请",
        "funds_city": "资金到达市级公开",
        "funds_county": "资金到达县级公开",
        "funds_village": "资金到达村级公开",
    },
    "level": {"city": "市级", "county": "县级", "village": "村级"},
    "channel": {
        "bank": "银行代收",
        "online": "网上",
        "on_the_spot": "当场收缴",
        "window": "窗口",
        "hotline": "热线电话",
        "mail": "邮寄",
        "village": "村级代办点",
    },
    "reason": {
        "hearing": "听证",
        "tendering": "招标",
        "auction": "拍卖",
        "inspection": "检验",
        "testing": "检测",
        "quarantine": "检疫",
        "appraisal": "鉴定",
        "expert_review": "专家评审",
        "correction": "等待补正材料",
        "third_party": "征求第三方意见",
        "announcement": "公告",
        "suspension": "中止",
    },
    "procedure": {"summary": "简易程序", "general": "普通程序", "hearing": "听证程序"},
    "party_type": {"person": "自然人", "organization": "法人或者其他组织"},
    "exception": {
        "hard_to_enforce": "事后难以执行（第六十八条第二项）",
        "remote_area": "边远、水上、交通不便地区（第六十九条）",
    },
    "penalty_kinds": {
        "warning": "警告",
        "criticism": "通报批评",
        "fine": "罚款",
        "confiscation": "没收违法所得、没收非法财物",
        "suspend_licence": "暂扣许可证件",
        "lower_qualification": "降低资质等级",
        "revoke_licence": "吊销许可证件",
        "restrict_activity": "限制开展生产经营活动",
        "suspend_business": "责令停产停业",
        "close": "责令关闭",
        "restrict_practice": "限制从业",
        "detention": "行政拘留",
    },
    "approval": {
        "head": "本行政机关负责人批准",
        "government_head": "本级人民政府负责人批准",
        "collective": "行政机关负责人集体讨论决定",
        "office_head": "政府信息公开工作机构负责人同意",
    },
}

CATEGORY_NAMES: Mapping[str, str] = {
    "time_limit": "办理时限",
    "disclosure": "公开公示",
    "procedure": "办理程序",
    "fee": "收费",
    "catalogue": "权力清单",
    "data_quality": "数据质量",
    "supervision": "督办",
}

ITEM_TYPE_NAMES: Mapping[str, str] = {
    "licensing": "行政许可",
    "penalty": "行政处罚",
    "enforcement": "行政强制",
    "levy": "行政征收",
    "payment": "行政给付",
    "confirmation": "行政确认",
    "adjudication": "行政裁决",
    "inspection": "行政检查",
    "public_service": "公共服务",
    "complaint": "投诉",
    "other": "其他",
}

DEFAULT_PARTY_LABEL = "当事人"  # the neutral word when no rule set names the party


@dataclass(frozen=True, slots=True)
class Vocabulary:
    """The names a loaded rule set gives: steps, attribute values and the party's label."""

    events: Mapping[str, str] = field(default_factory=lambda: dict(STANDARD_EVENT_NAMES))
    values: Mapping[str, Mapping[str, str]] = field(default_factory=lambda: dict(STANDARD_VALUE_NAMES))
    party_labels: Mapping[str, str] = field(default_factory=dict)  # by item type

    def step(self, kind: str, item: PowerItem | None = None) -> str:
        """A step kind's Chinese name; the catalogue item's own name wins."""
        if item is not None:
            own = item.attributes.get("step_names")
            if isinstance(own, dict) and isinstance(own.get(kind), str) and own[kind]:
                return str(own[kind])
        name = self.events.get(kind)
        # A kind no rule set declares is a data-quality finding of its own; quoted, it reads
        # as the record's word rather than as the system's.
        return name if name is not None else f"未定义环节“{kind}”"

    def value(self, attribute: str, value: Any) -> str:
        """An attribute value's Chinese name, or the value itself when it has none."""
        names = self.values.get(attribute, {})
        if isinstance(value, str) and value in names:
            return names[value]
        return _plain(value)

    def party(self, case: Case) -> str:
        """申请人, 当事人, 投诉人…: the catalogue item's `party_label`, else the rule sets' for
        its item type, else 当事人."""
        item = case.item
        if item is None:
            return DEFAULT_PARTY_LABEL
        own = item.attributes.get("party_label")
        if isinstance(own, str) and own:
            return own
        return self.party_labels.get(item.item_type.value, DEFAULT_PARTY_LABEL)


def _plain(value: Any) -> str:
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, list | tuple):
        return "、".join(_plain(v) for v in value)
    return str(value)


def category_name(category: str) -> str:
    return CATEGORY_NAMES.get(category, category)
