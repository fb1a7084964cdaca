"""Broadcast sends a frequency cap must count before their outcome is in the database.

The cap's count (``policy_repository.sent_since``) reads the chat's delivered broadcast
rows. A row that passed its check is in flight, or delivered with its outcome still in
the outcome buffer, for up to a second or more (Telegram's latency, the next flush): a
second broadcast's row for the same chat checked meanwhile would not see it, and both
would be sent over a cap of one.

The sender therefore keeps the rows it let through under a cap here, from the moment
they pass until their outcome is written (:meth:`InFlightCaps.recorded`), and adds them
to the database's count. No row is counted twice and none is missed, whatever the order
of checks, sends and flushes:

- a check takes a :class:`Snapshot` of the entries for its chats before it reads, and
  the read leaves those rows out of its count (``counted_ids``): a row whose outcome was
  written while the read ran is counted once, from here;
- an entry removed before the snapshot was written before the read began, so the read
  counts it;
- an entry added after the snapshot (another check let it through meanwhile) is counted
  at the decision, which runs on the event loop after the read. It could be counted
  twice only if it were sent and its outcome written during that one read: the rare
  error is then a skip, never a send over the cap.

A bot is sent by one worker at a time (its lease), so this per-sender ledger sees every
broadcast send of the bot.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field


@dataclass(eq=False)
class _Entry:
    row_id: int
    token: str
    counting: bool = True  # False once the row is known not to have been delivered


@dataclass(frozen=True)
class Snapshot:
    """The entries of some chats at one moment, before a check's read."""

    entries: dict[str, tuple[_Entry, ...]] = field(default_factory=dict)

    @property
    def ids(self) -> frozenset[int]:
        """Rows the read must leave out of its count (counted here instead)."""
        return frozenset(e.row_id for es in self.entries.values() for e in es)


EMPTY = Snapshot()


class InFlightCaps:
    """Rows let through under a frequency cap whose outcome is not written yet."""

    def __init__(self) -> None:
        self._by_row: dict[int, _Entry] = {}
        self._by_token: dict[str, dict[int, _Entry]] = {}

    def __len__(self) -> int:
        return len(self._by_row)

    def snapshot(self, tokens: Iterable[str]) -> Snapshot:
        if not self._by_row:
            return EMPTY
        entries = {t: tuple(self._by_token[t].values()) for t in set(tokens) if t in self._by_token}
        return Snapshot(entries) if entries else EMPTY

    def count(self, token: str, row_id: int, snapshot: Snapshot) -> int:
        """Sends to ``token`` to add to the database's count for row ``row_id``'s check
        (the row itself never counts)."""
        seen: dict[int, _Entry] = {e.row_id: e for e in snapshot.entries.get(token, ())}
        seen.update(self._by_token.get(token, {}))
        return sum(1 for e in seen.values() if e.counting and e.row_id != row_id)

    def passed(self, row_id: int, token: str) -> None:
        """Row ``row_id`` passed its cap check and goes to ``token``."""
        self.discard(row_id)
        entry = _Entry(row_id, token)
        self._by_row[row_id] = entry
        self._by_token.setdefault(token, {})[row_id] = entry

    def discard(self, row_id: int) -> None:
        """The row was not delivered (failed, retried, parked, back in the buffer)."""
        entry = self._forget(row_id)
        if entry is not None:
            entry.counting = False  # a snapshot holding it no longer counts it either

    def recorded(self, row_ids: Iterable[int]) -> None:
        """Outcomes written: from now on every read counts them."""
        if self._by_row:
            for row_id in row_ids:
                self._forget(row_id)

    def _forget(self, row_id: int) -> _Entry | None:
        entry = self._by_row.pop(row_id, None)
        if entry is not None:
            of_token = self._by_token[entry.token]
            del of_token[row_id]
            if not of_token:
                del self._by_token[entry.token]
        return entry
