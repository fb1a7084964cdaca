"""A sender's background chores (delivery/chores.py): one of each kind at a time, a
failure reported once per run of the same error."""

from __future__ import annotations

import asyncio

import pytest

from hushcast.delivery.chores import Chores
from hushcast.delivery.outbox import RepeatedErrors

pytestmark = pytest.mark.asyncio


class Recorded(RepeatedErrors):
    def __init__(self) -> None:
        super().__init__()
        self.reports: list[tuple[str, str, str]] = []

    def report(self, key: str, message: str, exc: BaseException | None = None) -> None:
        self.reports.append((key, message, str(exc)))


async def test_a_chore_runs_until_it_ends_and_its_name_is_free_again() -> None:
    chores = Chores(Recorded(), "app 1")
    gate = asyncio.Event()

    async def claim() -> None:
        await gate.wait()

    chores.start("claim", claim())
    assert chores.is_running("claim") and not chores.is_running("flush") and chores
    gate.set()
    await chores.wait()
    await asyncio.sleep(0)
    assert not chores.is_running("claim") and not chores


async def test_a_failed_chore_is_reported_under_its_name_and_not_raised() -> None:
    errors = Recorded()
    chores = Chores(errors, "app 7")

    async def plan() -> None:
        raise RuntimeError("database gone")

    chores.start("plan", plan())
    await chores.wait()
    await asyncio.sleep(0)
    assert errors.reports == [("app 7: plan", "plan failed", "database gone")]
    assert not chores


async def test_a_cancelled_chore_is_not_reported() -> None:
    errors = Recorded()
    chores = Chores(errors, "app 1")

    async def flush() -> None:
        await asyncio.sleep(10)

    chores.start("flush", flush())
    await asyncio.sleep(0)
    chores.running["flush"].cancel()
    await chores.wait()
    await asyncio.sleep(0)
    assert errors.reports == [] and not chores
