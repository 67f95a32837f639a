"""The schedules worker: each due job runs once per interval (kept in the store, so a cron
`--once` does not repeat it), a failing job is logged and retried while the others carry on."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select, update

from gateway.daemon import Gateway
from gateway.schedules import JOBS, Job, JobContext, run_due
from gateway.settings import GatewaySettings
from store import Store
from store.catalog import NewSku, add_location, add_partner, add_skus
from store.control import record_interchange
from store.heartbeats import beats
from store.inventory import receive
from store.models import Interchange, OutboxMessage, TradingPartner
from store.types import utcnow


def _partner(store: Store, code: str, documents: object) -> None:
    add_partner(store, code, code.title(), isa_qualifier="ZZ", isa_id=code.upper(), gs_id=code.upper(),
                our_isa_qualifier="ZZ", our_isa_id="WESELL", our_gs_id="WESELL")
    with store.write() as conn:
        conn.execute(update(TradingPartner).where(TradingPartner.code == code).values(config={"documents": documents}))


@pytest.fixture
def partners(store: Store) -> Store:
    """acme takes 846s, quiet does not, broken has a documents setting that is not a list."""
    _partner(store, "acme", ["997", "846"])
    _partner(store, "quiet", ["997", "855"])
    _partner(store, "broken", "846,997")
    add_location(store, "DAL", "Dallas DC")
    add_skus(store, [NewSku("S1", "Lamp", 1999, "USD")])
    receive(store, "S1", "DAL", 7)
    return store


def _sent(store: Store, isa13: str, age: dt.timedelta) -> None:
    """An interchange we sent acme `age` ago, still waiting for its 997."""
    with store.write() as conn:
        acme = conn.execute(select(TradingPartner.id).where(TradingPartner.code == "acme")).scalar_one()
        record_interchange(conn, direction="out", sender="WESELL", receiver="ACME", control_number=isa13,
                           partner_id=acme, ack_status="pending_ack", group_control=str(int(isa13)))
        conn.execute(update(Interchange).where(Interchange.control_number == isa13)
                     .values(created_at=utcnow() - age))


def _acks(store: Store) -> dict[str, str | None]:
    """What the interchanges `_sent` made wait for (the 846s the jobs send are numbered from 1)."""
    with store.read() as conn:
        return dict(conn.execute(select(Interchange.control_number, Interchange.ack_status)
                                 .where(Interchange.control_number.like("9%"))).all())


def _advised(store: Store) -> list[str]:
    with store.read() as conn:
        return list(conn.execute(select(OutboxMessage.target).where(OutboxMessage.kind == "edi_846")).scalars())


def _beat(store: Store) -> tuple[str, str | None]:
    [b] = [b for b in beats(store) if b.worker == "schedules"]
    return b.state, b.detail


def test_a_gateway_pass_runs_each_job_and_a_failing_one_does_not_stop_the_others(partners: Store) -> None:
    store = partners
    _sent(store, "900000001", dt.timedelta(days=2))
    _sent(store, "900000002", dt.timedelta(minutes=5))
    gw = Gateway(store, GatewaySettings(), holder="test")
    assert [w.name for w in gw.workers()] == ["schedules"]
    assert gw.run_once() == 1  # a job failed: the pass says so
    assert _acks(store) == {"900000001": "overdue", "900000002": "pending_ack"}  # only the late one
    assert _advised(store) == ["acme"]  # broken failed, quiet takes no 846, acme got its advice all the same
    state, detail = _beat(store)
    assert state == "failing"
    assert detail is not None and detail.startswith(
        "WorkerFailed: ack_overdue: 1 interchange(s) newly overdue; stock_advice failed: JobFailed: ")
    assert "846 not queued for broken: partner broken: config documents must be a list" in detail
    # Fixed by the admin: the next pass retries the failed job only; the other is not due yet.
    with store.write() as conn:
        conn.execute(update(TradingPartner).where(TradingPartner.code == "broken").values(config={"documents": ["997"]}))
    _sent(store, "900000003", dt.timedelta(days=2))
    assert gw.run_once() == 0
    assert _beat(store) == ("idle", "stock_advice: 846: 1 already_queued")
    assert _acks(store)["900000003"] == "pending_ack"  # ack_overdue waits for its interval
    assert _advised(store) == ["acme"]  # one advice a partner and day


def test_jobs_run_when_due_in_registry_order_and_a_failure_is_tried_again(partners: Store) -> None:
    store = partners
    calls: list[str] = []

    def boom(store: Store, ctx: JobContext) -> str:
        calls.append("boom")
        raise RuntimeError("the vendor portal is down")

    jobs = {"boom": Job(60.0, boom, "fails every time"), **JOBS}
    settings = GatewaySettings(schedules={"stock_advice": None, "auto_cancel": None})  # off
    now = utcnow()
    first = run_due(store, settings, jobs=jobs, now=now)
    assert [(r.job, r.ok, r.detail) for r in first] == [
        ("boom", False, "RuntimeError: the vendor portal is down"), ("ack_overdue", True, "0 interchange(s) newly overdue")]
    assert [r.job for r in run_due(store, settings, jobs=jobs, now=now + dt.timedelta(minutes=1))] == ["boom"]
    _sent(store, "900000004", dt.timedelta(days=2))
    later = run_due(store, settings, jobs=jobs, now=now + dt.timedelta(minutes=15))
    assert [(r.job, r.ok) for r in later] == [("boom", False), ("ack_overdue", True)]
    assert _acks(store)["900000004"] == "overdue"
    assert calls == ["boom"] * 3 and _advised(store) == []


def test_with_every_job_off_there_is_no_schedules_worker(partners: Store) -> None:
    off = GatewaySettings(schedules={name: None for name in JOBS})
    assert Gateway(partners, off, holder="test").workers() == []


def test_the_auto_cancel_job_ends_backorders_whose_day_has_come(store: Store) -> None:
    from store import ingest
    from store.catalog import add_channel
    from store.routing.rules import Rule, Rules
    from store.setup import Setup, apply_setup
    from tests.factories import order

    add_channel(store, "web", "Web shop", "cart")
    add_location(store, "DAL", "Dallas DC")
    add_skus(store, [NewSku("S1", "Lamp", 1999, "USD")])
    apply_setup(store, Setup(routing=Rules(rules=(Rule("wait a week", otherwise="backorder",
                                                       auto_cancel_after_days=7),))))
    placed = utcnow() - dt.timedelta(days=8)
    ingest(store, [order("late", ("S1", 2), placed_at=placed)])
    only = GatewaySettings(schedules={"ack_overdue": None, "stock_advice": None})
    (run,) = run_due(store, only, now=utcnow())
    assert (run.job, run.ok, run.detail) == ("auto_cancel", True, "1 order(s) had backordered units auto-cancelled")
    with store.read() as conn:
        from store.models import Order

        assert conn.execute(select(Order.status).where(Order.external_id == "late")).scalar_one() == "cancelled"
