"""The console's service layer: what a person may read and do, as data.

Every function takes the `Actor` and answers only what that actor may see: another
department's case or alert is NotFoundError (404), an action the role may not take is
ForbiddenError (403), a wrong state StateConflictError (409). The HTML pages and the JSON
API (monitor.web) both call these functions, so the two cannot disagree.
"""

from __future__ import annotations
