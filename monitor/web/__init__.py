"""The supervision console: `sunlight web`, server-rendered pages in Chinese and a JSON API.

`app.create_app` wires one router module per area (monitor/web/routes/) over the service
layer (monitor.console), which alone decides what a person may see and do.
"""

from __future__ import annotations
