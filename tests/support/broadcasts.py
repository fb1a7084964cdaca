"""Broadcast and sending helpers: rows inserted straight into tables, planning."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import insert, select, update

from hushcast.bots.models import apps
from hushcast.broadcasts import planner
from hushcast.contacts.models import app_tokens, contacts
from hushcast.core.db import Database
from hushcast.core.timeutil import utcnow
from hushcast.delivery import status as st
from hushcast.delivery.models import deliveries
from hushcast.groups.models import group_contacts, groups
from hushcast.messages.models import messages
from hushcast.orgs.models import organizations
from tests.support.service import bearer, new_bot_token


def org_id(db: Database, name: str = "acme") -> int:
    with db.read() as conn:
        return int(
            conn.execute(
                select(organizations.c.id).where(organizations.c.name == name)
            ).scalar_one()
        )


def add_message(db: Database, org: str = "acme", name: str = "Spring sale") -> int:
    now = utcnow()
    with db.transaction() as conn:
        return int(
            conn.execute(
                insert(messages)
                .values(
                    organization_id=org_id(db, org),
                    name=name,
                    text="Hello!",
                    image_source=None,
                    buttons=None,
                    tags=None,
                    created_at=now,
                    updated_at=now,
                )
                .returning(messages.c.id)
            ).scalar_one()
        )


def add_group(db: Database, contact_ids: list[int], org: str = "acme") -> int:
    with db.transaction() as conn:
        gid = int(
            conn.execute(
                insert(groups)
                .values(organization_id=org_id(db, org), name="g", created_at=utcnow())
                .returning(groups.c.id)
            ).scalar_one()
        )
        if contact_ids:
            conn.execute(
                insert(group_contacts), [{"group_id": gid, "contact_id": c} for c in contact_ids]
            )
    return gid


def register(
    client: TestClient, app_uuid: str, pairs: list[tuple[str, str]], key: str | None = None
) -> None:
    """Registers (token, externalCustomerId) pairs through the API."""
    body = {"tokens": [{"token": t, "externalCustomerId": c} for t, c in pairs]}
    headers = bearer(key) if key else None
    r = client.post(f"/v1/apps/{app_uuid}/tokens", json=body, headers=headers)
    assert r.status_code == 200, r.text


def contact_id(db: Database, ext: str, org: str = "acme") -> int:
    with db.read() as conn:
        return int(
            conn.execute(
                select(contacts.c.id).where(
                    contacts.c.external_customer_id == ext,
                    contacts.c.organization_id == org_id(db, org),
                )
            ).scalar_one()
        )


def app_id(db: Database, app_uuid: str) -> int:
    with db.read() as conn:
        return int(conn.execute(select(apps.c.id).where(apps.c.uuid == app_uuid)).scalar_one())


def deactivate(db: Database, app_uuid: str, tokens: list[str]) -> None:
    with db.transaction() as conn:
        conn.execute(
            update(app_tokens)
            .where(app_tokens.c.app_id == app_id(db, app_uuid), app_tokens.c.token.in_(tokens))
            .values(active=False, deactivated_at=utcnow(), deactivation_reason="blocked")
        )


def connect_bot(client: TestClient, fake_telegram: Any, key: str | None = None) -> str:
    headers = bearer(key) if key else None
    r = client.post("/v1/apps", json={"botToken": new_bot_token(fake_telegram)}, headers=headers)
    assert r.status_code == 201, r.text
    return str(r.json()["appUuid"])


def add_delivery(
    db: Database,
    *,
    app_uuid: str,
    message_id: int,
    token: str,
    status: str,
    broadcast_id: int | None = None,
    request_id: str | None = None,
    error_name: str | None = None,
    description: str | None = None,
    org: str = "acme",
) -> int:
    now = utcnow()
    with db.transaction() as conn:
        return int(
            conn.execute(
                insert(deliveries)
                .values(
                    organization_id=org_id(db, org),
                    app_id=app_id(db, app_uuid),
                    broadcast_id=broadcast_id,
                    message_id=message_id,
                    kind=st.KIND_BROADCAST if broadcast_id else st.KIND_SMARTSEND,
                    priority=st.PRIORITY_BROADCAST if broadcast_id else 0,
                    token=token,
                    request_id=request_id,
                    status=status,
                    error_name=error_name,
                    description=description,
                    attempts=0,
                    available_at=now,
                    created_at=now,
                )
                .returning(deliveries.c.id)
            ).scalar_one()
        )


def delivery_rows(db: Database, **where: Any) -> list[Any]:
    with db.read() as conn:
        stmt = select(deliveries).order_by(deliveries.c.id)
        for name, value in where.items():
            stmt = stmt.where(deliveries.c[name] == value)
        return list(conn.execute(stmt))


def parse_iso(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", ""))


NOW = datetime(2030, 5, 6, 7, 8, 9)


def new_broadcast(client: TestClient, db: Database, app_uuid: str, **extra: Any) -> int:
    body = {"messageId": add_message(db), "appId": app_uuid, **extra}
    r = client.post("/v1/broadcast", json=body)
    assert r.status_code == 200, r.text
    return int(r.json()["broadcastId"])


def plan_all(db: Database, broadcast_id: int, batch_size: int = 50_000) -> list[bool]:
    results: list[bool] = []
    while not results or not results[-1]:
        with db.transaction() as conn:
            results.append(planner.plan_batch(conn, broadcast_id, NOW, batch_size))
        assert len(results) < 100
    return results


def queued(db: Database, broadcast_id: int) -> dict[str, str]:
    rows = delivery_rows(db, broadcast_id=broadcast_id)
    tokens = [r.token for r in rows]
    assert len(tokens) == len(set(tokens)), "a recipient was queued twice"
    return {r.token: r.status for r in rows}
