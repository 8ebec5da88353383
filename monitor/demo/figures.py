"""The demo's clock and the figures of the shipped rule sets it keeps clean cases inside
(rules/*.yaml): a change to a rule's limit is a change here too."""

from __future__ import annotations

from datetime import time

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
