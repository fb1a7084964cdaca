"""Imports every module's tables so that ``metadata`` is complete (Alembic, tests)."""

from hushcast.bots import models as _bots  # noqa: F401
from hushcast.broadcasts import models as _broadcasts  # noqa: F401
from hushcast.contacts import models as _contacts  # noqa: F401
from hushcast.core.db import metadata
from hushcast.delivery import models as _delivery  # noqa: F401
from hushcast.groups import models as _groups  # noqa: F401
from hushcast.messages import models as _messages  # noqa: F401
from hushcast.mute import models as _mute  # noqa: F401
from hushcast.orgs import models as _orgs  # noqa: F401
from hushcast.yespo import models as _yespo  # noqa: F401

__all__ = ["metadata"]
