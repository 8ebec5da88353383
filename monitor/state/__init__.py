"""The database layer: table definitions, engines, migrations, the daemon's own stores."""

from __future__ import annotations
