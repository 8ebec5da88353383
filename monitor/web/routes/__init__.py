"""One router per area of the console: login, overview, alerts, cases, users, status, api."""

from __future__ import annotations
