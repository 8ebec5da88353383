"""Sunlight (阳光监察): the electronic-supervision daemon for administrative power."""

from __future__ import annotations

__version__ = "0.1.0"
