"""Reading the source: the exchange format, the importer and the incremental reader."""

from __future__ import annotations
