"""The pre-send check of a group of rows, and their personalisation.

Every row is checked (mute, token, broadcast state, the bot's policies) for the chat
id it goes to now: after a migration, the new one. The rows that may go are rendered
for the message version the check saw, a render reused from an earlier check of the
same row when the version is the same; every other row is settled by its decision
(``decide.before_send``), which the sender applies.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hushcast.delivery import decide
from hushcast.delivery.caps import InFlightCaps, Snapshot
from hushcast.delivery.decide import Action, Decision, PreSendState
from hushcast.delivery.job import Job
from hushcast.delivery.personalize import Personalizer, RenderFailure
from hushcast.delivery.store import CheckItem, DeliveryStore
from hushcast.messages.render import RenderedMessage


@dataclass
class Checked:
    """A row that passed its pre-send check, rendered for the message version it saw."""

    job: Job
    rendered: RenderedMessage
    version: Any


class GroupChecker:
    """Checks groups of one bot's rows."""

    def __init__(
        self,
        store: DeliveryStore,
        app_id: int,
        caps: InFlightCaps,
        personalizer: Personalizer,
    ) -> None:
        self.store = store
        self.app_id = app_id
        self.caps = caps
        self.personalizer = personalizer

    async def check(
        self,
        group: list[Job],
        settle: Callable[[Job, Decision], None],
        previous: list[Checked] | None = None,
    ) -> tuple[list[Checked], float]:
        """The rows that may go, rendered, and when the check's query answered (the
        check is trusted for a while from then); ``settle`` is given the decision of
        each row that does not go. Only a database failure raises.

        (``settle`` is an argument, not an attribute: the sender's bound method kept
        here would make the sender and its checker a reference cycle.)"""
        items = [CheckItem(j.id, j.token, moved=j.token != j.stored_token) for j in group]
        # Taken before the read: see delivery/caps.py for why nothing is counted twice.
        snapshot = self.caps.snapshot(j.token for j in group)
        states = await self.store.pre_send_state(self.app_id, items, snapshot.ids) if group else {}
        answered = time.monotonic()
        before = {c.job.id: c for c in previous or ()}
        sendable: list[Checked] = []
        for job in group:
            state = self._with_unrecorded(job, states.get(job.id), snapshot)
            decision = decide.before_send(job, state)
            if decision.action is not Action.SEND or state is None:
                settle(job, decision)
                continue
            if state.facts is not None and state.facts.cap is not None and job.is_broadcast:
                self.caps.passed(job.id, job.token)
            old = before.get(job.id)
            if old is not None and old.version == state.message_version:
                sendable.append(old)
                continue
            rendered = await self.personalizer.personalize(job, state.message_version)
            if isinstance(rendered, RenderFailure):
                settle(job, decide.template_failed(rendered.description))
                continue
            sendable.append(Checked(job, rendered, state.message_version))
        return sendable, answered

    def _with_unrecorded(
        self, job: Job, state: PreSendState | None, snapshot: Snapshot
    ) -> PreSendState | None:
        """The state with the frequency cap's count raised by this bot's broadcast sends
        to the chat that the database does not show yet (in flight or unwritten)."""
        if state is None or state.facts is None or state.facts.cap is None:
            return state
        extra = self.caps.count(job.token, job.id, snapshot)
        if not extra:
            return state
        facts = dataclasses.replace(state.facts, sent_in_period=state.facts.sent_in_period + extra)
        return dataclasses.replace(state, facts=facts)
