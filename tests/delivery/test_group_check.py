"""A group's pre-send check and personalisation (delivery/group_check.py), on the
in-memory store: what goes, rendered for the version it saw, and what is settled."""

from __future__ import annotations

import pytest

from hushcast.delivery import status as st
from hushcast.delivery.caps import InFlightCaps
from hushcast.delivery.decide import Action, Decision
from hushcast.delivery.group_check import GroupChecker
from hushcast.delivery.job import Job
from hushcast.delivery.personalize import Personalizer
from hushcast.delivery.testing import InMemoryDeliveryStore

pytestmark = pytest.mark.asyncio


def checker(store: InMemoryDeliveryStore) -> GroupChecker:
    personalizer = Personalizer(
        store.load_message, click_tracking=False, public_url="http://hush.test", secret=str
    )
    return GroupChecker(store, 1, InFlightCaps(), personalizer)


def jobs(store: InMemoryDeliveryStore, *tokens: str) -> list[Job]:
    out = []
    for token in tokens:
        row = store.add_row(token, 1, 10)
        out.append(
            Job(
                id=row.id,
                kind=row.kind,
                token=token,
                contact_id=None,
                message_id=1,
                json_param=None,
                broadcast_id=10,
                attempts=0,
            )
        )
    return out


def store_with(text: str = "Hello") -> InMemoryDeliveryStore:
    store = InMemoryDeliveryStore()
    store.put_message(1, text)
    store.add_broadcast(10)
    return store


async def test_muted_and_inactive_rows_are_settled_and_the_rest_rendered() -> None:
    store = store_with()
    group = jobs(store, "1", "2", "3")
    store.mute("2")
    store.add_token("3", active=False)
    settled: list[tuple[int, Decision]] = []
    ok, _ = await checker(store).check(group, lambda j, d: settled.append((j.id, d)))
    assert [(c.job.token, c.rendered.text) for c in ok] == [("1", "Hello")]
    assert [(i, d.action, d.error_name) for i, d in settled] == [
        (group[1].id, Action.FINISH, st.CHANNEL_WAS_MUTED),
        (group[2].id, Action.FINISH, st.TOKEN_INACTIVE),
    ]


async def test_a_moved_row_is_checked_for_the_chat_it_goes_to_now() -> None:
    store = store_with()
    (job,) = jobs(store, "-5")
    job.token = "-1005"  # Telegram moved the group; the row still holds -5
    store.mute("-1005")
    settled: list[Decision] = []
    ok, _ = await checker(store).check([job], lambda j, d: settled.append(d))
    assert ok == []
    assert [(c.token, c.moved) for c in store.checks[-1]] == [("-1005", True)]
    assert [d.error_name for d in settled] == [st.CHANNEL_WAS_MUTED]


async def test_a_recheck_reuses_the_render_unless_the_message_changed() -> None:
    store = store_with("v1")
    group = jobs(store, "1")
    check = checker(store)
    ok, _ = await check.check(group, lambda j, d: None)
    again, _ = await check.check(group, lambda j, d: None, ok)
    assert again[0] is ok[0]
    store.put_message(1, "v2")
    changed, _ = await check.check(group, lambda j, d: None, ok)
    assert changed[0].rendered.text == "v2" and changed[0].version != ok[0].version


async def test_a_row_whose_template_fails_is_settled_beside_rows_that_render() -> None:
    store = store_with("Hi $data.get('a')")
    good, bad = jobs(store, "1", "2")
    good.json_param = '{"a": "ann"}'
    bad.json_param = '{"a": ' + "[" * 600 + "]" * 600 + "}"  # too deep to render
    settled: list[Decision] = []
    ok, _ = await checker(store).check([good, bad], lambda j, d: settled.append(d))
    assert [c.rendered.text for c in ok] == ["Hi ann"]
    assert len(settled) == 1 and settled[0].action is Action.FINISH
    assert (settled[0].status, settled[0].error_name) == (st.ERROR, st.TEMPLATE_ERROR)


async def test_a_database_failure_raises_and_settles_nothing() -> None:
    store = store_with()
    group = jobs(store, "1")
    store.fail_checks = 1
    settled: list[Decision] = []
    with pytest.raises(Exception, match="restarting"):
        await checker(store).check(group, lambda j, d: settled.append(d))
    assert settled == []
