"""The dashboard at /ui: server-rendered pages and htmx fragments behind a session with
CSRF protection. ui.py holds the router and what every screen shares; each screen area
has its own module in screens/ (they register their routes on import)."""

from __future__ import annotations

from hushcast.web.screens import (  # noqa: F401  (each module adds its routes)
    auth,
    bots,
    broadcasts,
    contacts,
    groups,
    imports,
    keys,
    messages,
    subscribers,
)
from hushcast.web.ui import router, static_files

__all__ = ["router", "static_files"]
