"""The table registry: imports every module's tables so that ``metadata`` (defined in
``core/db.py``) is complete (Alembic, tests), and sets SQLite AUTOINCREMENT on them."""

from sqlalchemy import Table

from hushcast.bots import models as _bots  # noqa: F401
from hushcast.broadcasts import models as _broadcasts  # noqa: F401
from hushcast.contacts import models as _contacts  # noqa: F401
from hushcast.core.db import metadata
from hushcast.delivery import models as _delivery  # noqa: F401
from hushcast.groups import models as _groups  # noqa: F401
from hushcast.messages import models as _messages  # noqa: F401
from hushcast.mute import models as _mute  # noqa: F401
from hushcast.orgs import models as _orgs  # noqa: F401
from hushcast.policies import models as _policies  # noqa: F401
from hushcast.updates import models as _updates  # noqa: F401
from hushcast.web import models as _web  # noqa: F401
from hushcast.webhooks import models as _webhooks  # noqa: F401
from hushcast.yespo import models as _yespo  # noqa: F401

__all__ = ["metadata", "surrogate_id_tables"]


def surrogate_id_tables() -> list[Table]:
    """Tables keyed by one generated integer ``id``: API ids, click links, token cursors."""
    return [
        t
        for t in metadata.sorted_tables
        if [c.name for c in t.primary_key.columns] == ["id"] and t.c.id.autoincrement is True
    ]


# Ids are never reused. A reused id would let something that outlived its row (a click
# link of a deleted organisation's delivery, a client's stored contactId, a planning
# cursor) name another row. PostgreSQL identities never reuse values; on SQLite an
# INTEGER PRIMARY KEY without AUTOINCREMENT hands out max(rowid) + 1, which reuses the
# ids of the newest rows once they are deleted. Set here, for every such table of every
# module, instead of on each Table (``sqlite_autoincrement=True``); migration 0003i
# rebuilt the existing SQLite tables the same way.
for _table in surrogate_id_tables():
    _table.dialect_options["sqlite"]["autoincrement"] = True
