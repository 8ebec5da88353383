"""Alert state and notices: the lifecycle, the hash-chained history, the outbox, senders."""

from __future__ import annotations
