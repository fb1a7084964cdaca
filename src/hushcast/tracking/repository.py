"""SQL for recording clicks."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, case, update

from hushcast.delivery import status as st
from hushcast.delivery.models import deliveries


def record_click(conn: Connection, delivery_id: int, now: datetime) -> bool:
    """Marks a delivered row CLICKED (the first click's time is kept)."""
    res = conn.execute(
        update(deliveries)
        .where(
            deliveries.c.id == delivery_id,
            deliveries.c.status.in_((st.DELIVERED, st.CLICKED)),
        )
        .values(
            status=st.CLICKED,
            clicked_at=case(
                (deliveries.c.clicked_at.is_(None), now), else_=deliveries.c.clicked_at
            ),
        )
    )
    return bool(res.rowcount)
