"""Fixtures of the broadcast tests."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from hushcast.core.db import Database
from tests.support.broadcasts import connect_bot, register


@pytest.fixture
def ten(client: TestClient, db: Database, app_uuid: str, fake_telegram: Any) -> str:
    """Ten tokens t1..t10 of contacts c1..c10, with another bot's tokens interleaved."""
    other_app = connect_bot(client, fake_telegram)
    for i in range(1, 11):
        register(client, app_uuid, [(f"@tok{i}", f"c{i}")])
        register(client, other_app, [(f"@oth{i}", f"c{i}")])
    return app_uuid
