"""The bot's settings page shows how its updates arrive and the relay's counters."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from hushcast.core.db import Database
from tests.support.updates import update_settings_row
from tests.support.web import signed_in


def test_settings_page_shows_updates_and_relay(
    client: TestClient, api_key: str, app_uuid: str, db: Database
) -> None:
    page = f"/ui/apps/{app_uuid}/settings"
    signed_in(client, api_key)
    html = client.get(page).text
    assert 'id="bot-updates"' in html and "Off:" in html
    r = client.put(
        f"/v1/apps/{app_uuid}/updates",
        json={
            "mode": "polling",
            "relayUrl": "http://127.0.0.1:9/relay",
            "relaySecret": "hidden-secret",
            "dialogGuard": {"enabled": True, "muteSeconds": 900},
        },
        headers={"Authorization": f"Bearer {api_key}"},
    )
    assert r.status_code == 200, r.text
    from sqlalchemy import update

    from hushcast.updates.models import update_settings

    row: Any = update_settings_row(db, app_uuid)
    with db.transaction() as conn:
        conn.execute(
            update(update_settings)
            .where(update_settings.c.app_id == row.app_id)
            .values(relay_delivered=7, relay_failures=2, relay_last_error="HTTP 503")
        )
    html = client.get(page).text
    assert "Receiving by <strong>polling</strong>" in html and "900 s" in html
    assert "7 delivered" in html and "2 failures" in html and "HTTP 503" in html
    assert "hidden-secret" not in html
