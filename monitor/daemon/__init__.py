"""The daemon: one pass (`poll_once`) and the scheduler that repeats it."""

from __future__ import annotations
