"""Notifiers: one module each behind the `Notifier` interface."""

from __future__ import annotations

from alerts.notify.base import Notifier, build_message

__all__ = ["Notifier", "build_message"]
