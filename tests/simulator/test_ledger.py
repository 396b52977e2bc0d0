"""The simulated credit balance: charges at submit, refunds where Topview refunds a failure."""

from __future__ import annotations

from topview_async.testing._credits import FREE_ON_FAILURE, Charge, Ledger
from topview_async.testing._tasks import SimTask

REFUNDED_KIND = sorted(FREE_ON_FAILURE)[0]


def task(task_id: str, kind: str, *, uid: str = "u1", fails: bool = False) -> SimTask:
    return SimTask(
        task_id=task_id,
        kind=kind,
        uid=uid,
        created_at=100.0,
        duration=10.0,
        fails=fails,
        request={},
        base_url="http://127.0.0.1",
    )


def test_a_failure_is_refunded_only_for_free_kinds_and_only_once_it_failed() -> None:
    ledger = Ledger(100.0)
    ledger.add(Charge(task("a", REFUNDED_KIND, fails=True), 7.0, "sk-key-1234"))
    ledger.add(Charge(task("b", "m2v", fails=True), 5.0, "sk-key-1234"))  # paid even if failed
    ledger.add(Charge(task("c", REFUNDED_KIND), 3.0, "sk-key-1234"))  # succeeds: paid
    ledger.add(Charge(task("d", "m2v", uid="u2"), 11.0, "sk-key-1234"))  # another account

    assert ledger.balance("u1", now=105.0) == 85.0  # still running: everything counts
    assert ledger.balance("u1", now=110.0) == 92.0  # "a" failed: its 7 credits come back
    assert ledger.balance("u2", now=110.0) == 89.0
    assert ledger.balance("nobody", now=110.0) == 100.0
    assert [c.task.task_id for c in ledger.charges] == ["a", "b", "c", "d"]


def test_the_balance_matches_summing_every_charge() -> None:
    ledger = Ledger(1000.0)
    for index in range(300):
        kind = REFUNDED_KIND if index % 3 else "m2v"
        ledger.add(Charge(task(str(index), kind, fails=index % 4 == 0), 1.5, "sk-key-1234"))
    for now in (100.0, 105.0, 110.0, 200.0):
        spent = sum(c.amount for c in ledger.charges if c.counts(now))
        assert ledger.balance("u1", now) == round(1000.0 - spent, 4)
