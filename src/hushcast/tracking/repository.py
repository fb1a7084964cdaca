"""SQL for recording clicks."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, case, update

from hushcast.delivery import status as st
from hushcast.delivery.models import deliveries


def record_click(
    conn: Connection, delivery_id: int, organization_id: int | None, now: datetime
) -> bool:
    """Marks a delivered row CLICKED (the first click's time is kept), only when it
    belongs to the organisation the link was signed for (None: an older, unbound link)."""
    stmt = update(deliveries).where(
        deliveries.c.id == delivery_id,
        deliveries.c.status.in_((st.DELIVERED, st.CLICKED)),
    )
    if organization_id is not None:
        stmt = stmt.where(deliveries.c.organization_id == organization_id)
    res = conn.execute(
        stmt.values(
            status=st.CLICKED,
            clicked_at=case(
                (deliveries.c.clicked_at.is_(None), now), else_=deliveries.c.clicked_at
            ),
        )
    )
    return bool(res.rowcount)
