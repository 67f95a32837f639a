"""The Gateway screen (F6): heartbeats, queues, failures, pauses and alerts; retry and resume."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from textual.pilot import Pilot

from store import Store
from store.channel_sync import load_sync
from store.heartbeats import beat
from store.models import AuditEvent, OutboxMessage
from tests.tui._edi_gateway_data import FIXED, message_id
from tests.tui.conftest import settle_app
from tui import OmsApp
from tui.access import Operator
from tui.screens.gateway import GatewayScreen
from tui.widgets.gateway_table import GatewayTable


def _app(store: Store, role: str = "admin", now: dt.datetime = FIXED) -> OmsApp:
    return OmsApp(store, operator=Operator("alice", role), now=lambda: now, poll_seconds=None)


async def _gateway(pilot: Pilot[None]) -> GatewayScreen:
    await settle_app(pilot)
    await pilot.press("f6")
    await settle_app(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, GatewayScreen)
    return screen


def _cells(screen: GatewayScreen, table_id: str) -> list[list[str]]:
    table = screen.query_one(f"#{table_id}", GatewayTable)
    return [[str(c) for c in table.get_row_at(n)] for n in range(table.row_count)]


def _audit(store: Store, action: str) -> list[str]:
    with store.read() as conn:
        return [r.actor for r in conn.execute(select(AuditEvent).where(AuditEvent.action == action))]


async def test_workers_queues_failures_channels_and_alerts_as_the_store_holds_them(edi_gateway_store: Store) -> None:
    async with _app(edi_gateway_store).run_test(size=(120, 40)) as pilot:
        screen = await _gateway(pilot)
        assert _cells(screen, "gw-workers") == [
            ["dispatcher", "idle", "4s", "gw1:4242", "sent 3 documents"],
            ["orders:ebay", "failing (silent)", "10m", "gw2:977", "HTTP 503 from eBay; retrying in 60 s"],
            ["poll:acme", "working", "12s", "gw1:4242", "reading po2001.x12"],
        ]
        failures = _cells(screen, "gw-failures")
        assert [row[1:5] for row in failures] == [["shipment_confirm", "amz", "failed", "1"],
                                                   ["edi_855", "acme", "dead", "1"]]
        assert failures[0][5:] == ["in 59m", "HTTP 500 from Amazon: InternalFailure"]
        queues = {row[0]: row[1:] for row in _cells(screen, "gw-queues")}
        assert queues["edi_855"] == ["", "", "", "1"]
        assert queues["shipment_confirm"] == ["32", "", "1", ""]
        assert queues["stock to amz"] == ["2", "", "", ""] and queues["stock to ebay"] == ["1", "", "", ""]
        assert queues["documents to read"] == ["", "", "", ""]
        assert str(screen.query_one("#gw-summary").render()) == (
            "Outbox 77 waiting (1 failed) · 1 dead · stock pushes owed 3 · documents to read 0"
            " · ebay paused until 18:00 · silent: orders:ebay")
        assert _cells(screen, "gw-channels") == [
            ["amz", "marketplace", "–", "", ""],
            ["ebay", "marketplace", "–", "03-10 18:00", "daily quota spent"],
            ["web", "cart", "–", "", ""],
        ]
        assert _cells(screen, "gw-alerts")[:2] == [
            ["2m", "throttled", "amz", "429 from Amazon; backing off 60 s"],
            ["3m", "channel paused", "ebay", "ebay paused until 2026-03-10 18:00 UTC: daily quota spent"],
        ]


async def test_ages_move_with_the_clock_and_a_new_heartbeat_shows_on_refresh(edi_gateway_store: Store) -> None:
    clock = [FIXED]
    app = OmsApp(edi_gateway_store, operator=Operator("alice", "admin"), now=lambda: clock[0], poll_seconds=None)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await _gateway(pilot)
        clock[0] = FIXED + dt.timedelta(minutes=2)
        beat(edi_gateway_store, "csv:/drop/web", host="gw1", pid=4242, state="idle")
        await pilot.press("ctrl+r")
        await settle_app(pilot)
        rows = {row[0]: row for row in _cells(screen, "gw-workers")}
        assert rows["dispatcher"][1:3] == ["idle (silent)", "2m"]
        assert "csv:/drop/web" in rows


async def test_an_admin_retries_a_dead_message_and_resumes_a_paused_channel(edi_gateway_store: Store) -> None:
    dead = message_id(edi_gateway_store, "edi_855", 0)
    async with _app(edi_gateway_store).run_test(size=(120, 40)) as pilot:
        screen = await _gateway(pilot)
        failures = screen.query_one("#gw-failures", GatewayTable)
        failures.focus()
        failures.move_cursor(row=1)
        await pilot.press("r", "y")
        await settle_app(pilot)
        with edi_gateway_store.read() as conn:
            assert conn.execute(select(OutboxMessage.state).where(OutboxMessage.id == dead)).scalar_one() == "pending"
        assert _audit(edi_gateway_store, "outbox.retried") == ["alice"]
        assert [row[2] for row in _cells(screen, "gw-failures")] == ["amz"]  # the 855 left the list

        channels = screen.query_one("#gw-channels", GatewayTable)
        channels.focus()
        channels.move_cursor(row=1)
        await pilot.press("u")
        await settle_app(pilot)
        assert load_sync(edi_gateway_store, "ebay").paused_until is None
        assert _audit(edi_gateway_store, "channel.resumed") == ["alice"]
        assert _cells(screen, "gw-channels")[1][3:] == ["", ""]


async def test_a_viewer_cannot_retry_or_resume(edi_gateway_store: Store) -> None:
    async with _app(edi_gateway_store, role="viewer").run_test(size=(120, 40)) as pilot:
        screen = await _gateway(pilot)
        assert screen.check_action("retry", ()) is None and screen.check_action("resume", ()) is None
        screen.query_one("#gw-channels", GatewayTable).move_cursor(row=1)
        await pilot.press("r", "u")
        await settle_app(pilot)
        assert pilot.app.screen is screen
        assert load_sync(edi_gateway_store, "ebay").paused_until is not None
        assert _audit(edi_gateway_store, "outbox.retried") == [] and _audit(edi_gateway_store, "channel.resumed") == []
