"""The sender's ledger of capped sends whose outcome is not written (delivery/caps.py):
each send counted exactly once, whichever of the check's read, the send's answer and
the outcome write comes first."""

from __future__ import annotations

from hushcast.delivery.caps import EMPTY, InFlightCaps


def test_an_empty_ledger_gives_the_empty_snapshot() -> None:
    caps = InFlightCaps()
    assert caps.snapshot(["1"]) is EMPTY
    assert caps.count("1", 9, EMPTY) == 0


def test_a_passed_row_counts_for_its_chat_only_and_never_for_itself() -> None:
    caps = InFlightCaps()
    caps.passed(1, "100")
    assert caps.count("100", 2, EMPTY) == 1
    assert caps.count("100", 1, EMPTY) == 0
    assert caps.count("200", 2, EMPTY) == 0


def test_the_snapshot_names_the_rows_the_read_leaves_out() -> None:
    caps = InFlightCaps()
    caps.passed(1, "100")
    caps.passed(2, "200")
    assert caps.snapshot(["100", "300"]).ids == frozenset({1})


def test_written_during_the_read_counts_once_from_the_snapshot() -> None:
    """The read left row 1 out; its outcome was written meanwhile and it was forgotten:
    the check still counts it (the read did not)."""
    caps = InFlightCaps()
    caps.passed(1, "100")
    snap = caps.snapshot(["100"])
    caps.recorded([1])
    assert len(caps) == 0
    assert caps.count("100", 2, snap) == 1
    # A later check's snapshot does not hold it: its read counts it instead.
    assert caps.snapshot(["100"]).ids == frozenset()
    assert caps.count("100", 2, caps.snapshot(["100"])) == 0


def test_passed_by_another_check_after_the_snapshot_counts() -> None:
    caps = InFlightCaps()
    snap = caps.snapshot(["100"])
    caps.passed(1, "100")  # another group's check, while this one read
    assert caps.count("100", 2, snap) == 1


def test_a_send_that_failed_counts_nowhere() -> None:
    caps = InFlightCaps()
    caps.passed(1, "100")
    snap = caps.snapshot(["100"])
    caps.discard(1)
    assert caps.count("100", 2, snap) == 0
    assert len(caps) == 0


def test_passed_again_replaces_the_entry() -> None:
    """A row checked again (a recheck, or after a retry) is one entry, under its chat."""
    caps = InFlightCaps()
    caps.passed(1, "100")
    old = caps.snapshot(["100"])
    caps.discard(1)
    caps.passed(1, "200")  # after a migration
    assert len(caps) == 1
    assert caps.count("100", 2, old) == 0
    assert caps.count("200", 2, EMPTY) == 1


def test_recorded_rows_it_never_held_are_ignored() -> None:
    caps = InFlightCaps()
    caps.passed(1, "100")
    caps.recorded([5, 6])
    assert len(caps) == 1
