"""The EDI screen (F5): partners, documents in and out, one document, resend."""

from __future__ import annotations


from sqlalchemy import select
from textual.pilot import Pilot
from textual.widgets import Static

from edi_maps import names as edi_names
from store import Store
from store.models import AuditEvent, OutboxMessage
from tests.tui._edi_gateway_data import FIXED, document_id, message_id
from tests.tui.conftest import settle_app
from tui import OmsApp
from tui.access import Operator
from tui.screens.document import DocumentScreen
from tui.screens.documents import DocumentsScreen
from tui.widgets.doc_filter import DocFilter
from tui.widgets.doc_partners import DocPartners
from tui.widgets.doc_segments import DocSegments
from tui.widgets.doc_table import DocTable


def _app(store: Store, role: str = "admin", **kw: object) -> OmsApp:
    return OmsApp(store, operator=Operator("alice", role), now=lambda: FIXED, poll_seconds=None, **kw)  # type: ignore[arg-type]


async def _edi(pilot: Pilot[None]) -> DocumentsScreen:
    await settle_app(pilot)
    await pilot.press("f5")
    await settle_app(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, DocumentsScreen)
    return screen


def _rows(screen: DocumentsScreen) -> list[tuple[str, str, str, str | None]]:
    return [(r.direction, r.kind, r.state, r.partner) for r in screen.query_one(DocTable).rows_shown]


async def _open(pilot: Pilot[None], screen: DocumentsScreen, direction: str, kind: str) -> DocumentScreen:
    table = screen.query_one(DocTable)
    n = next(i for i, r in enumerate(table.rows_shown) if (r.direction, r.kind) == (direction, kind))
    table.focus()
    table.move_cursor(row=n)
    await pilot.press("enter")
    await settle_app(pilot)
    doc = pilot.app.screen
    assert isinstance(doc, DocumentScreen)
    return doc


def _head(screen: DocumentScreen) -> str:
    return str(screen.query_one("#doc-head", Static).render())


def _audit(store: Store, action: str) -> list[tuple[str, int | None]]:
    with store.read() as conn:
        return [(r.actor, r.entity_id) for r in conn.execute(select(AuditEvent).where(AuditEvent.action == action))]


def _state(store: Store, mid: int) -> str:
    with store.read() as conn:
        return str(conn.execute(select(OutboxMessage.state).where(OutboxMessage.id == mid)).scalar_one())


async def test_the_list_shows_every_document_in_and_out_with_counts_and_partners(edi_gateway_store: Store) -> None:
    async with _app(edi_gateway_store).run_test(size=(120, 40)) as pilot:
        screen = await _edi(pilot)
        assert _rows(screen) == [
            ("out", "856", "sent", "acme"), ("out", "855", "dead", "acme"), ("out", "997", "sending", "acme"),
            ("out", "997", "sent", "acme"), ("in", "csv", "partial", None), ("in", "x12", "rejected", None),
            ("in", "x12", "partial", "acme"), ("in", "x12", "accepted", "acme"),
        ]
        table = screen.query_one(DocTable)
        first = [str(c) for c in table.get_row_at(0)]
        assert first[:7] == ["03-10 11:07", "out", "856", "acme", "sent", "000000004", "accepted"]
        assert table.border_subtitle == "8 documents"
        counts = screen.query_one(DocFilter)._counts
        assert counts == {"all": 8, "inbound": 4, "outbound": 4, "rejected": 1, "awaiting_ack": 1, "undelivered": 1}
        acme = {p.code: p for p in screen.query_one(DocPartners).partners}["acme"]
        assert (acme.inbound, acme.outbound, acme.rejected, acme.awaiting_ack) == (2, 4, 0, 1)

        await pilot.press("5")  # awaiting 997
        await settle_app(pilot)
        assert _rows(screen) == [("out", "855", "dead", "acme")]
        assert table.border_title == "Awaiting 997"


async def test_rejected_documents_and_one_partner(edi_gateway_store: Store) -> None:
    async with _app(edi_gateway_store).run_test(size=(120, 40)) as pilot:
        screen = await _edi(pilot)
        screen.show_rejected()
        await settle_app(pilot)
        assert _rows(screen) == [("in", "x12", "rejected", None)]  # the stranger's; partial ones are under Inbound

        partners = screen.query_one(DocPartners)
        partners.focus()
        partners.highlighted = partners.get_option_index("acme")
        await pilot.press("enter")
        await settle_app(pilot)
        assert (screen.partner, _rows(screen)) == ("acme", [])
        assert screen.query_one(DocTable).border_subtitle == "No rejected documents."
        await pilot.press("2")
        await settle_app(pilot)
        assert _rows(screen) == [("in", "x12", "partial", "acme"), ("in", "x12", "accepted", "acme")]

        partners.focus()
        partners.highlighted = partners.get_option_index("globex")
        await pilot.press("enter", "1")
        await settle_app(pilot)
        table = screen.query_one(DocTable)
        assert (screen.choice, _rows(screen), table.border_subtitle) == ("all", [], "No documents yet.")


async def test_an_inbound_850_with_its_order_997_and_raw_segments(edi_gateway_store: Store) -> None:
    async with _app(edi_gateway_store).run_test(size=(120, 40)) as pilot:
        screen = await _edi(pilot)
        doc = await _open(pilot, screen, "in", "x12")  # the newest x12: the one from a stranger
        assert "no trading partner for ISA sender ZZ/STRANGER" in _head(doc)
        await pilot.press("escape")
        await settle_app(pilot)
        screen.query_one(DocTable).move_cursor(row=7)
        await pilot.press("enter")
        await settle_app(pilot)
        doc = pilot.app.screen
        assert isinstance(doc, DocumentScreen) and doc.document_id == document_id(edi_gateway_store, "po1001.x12")
        head = _head(doc)
        assert "sftp://acme/in/po1001.x12" in head and "accepted" in head
        assert "acme PO-1001 (shipped)" in head
        assert "997 sent 2026-03-10" in head and "1 accepted" in head
        assert doc.detail is not None and doc.detail.sha256 in head  # type: ignore[union-attr]
        raw = doc.query_one(DocSegments).text_lines()
        assert raw[:4] == [raw[0], "GS*PO*SENDER*RECEIVER*20260115*0930*7*X*004010", "ST*850*0001",
                           "BEG*00*SA*PO-1001**20260115"]
        assert raw[0].startswith("ISA*00*") and len(raw) == 11  # no names without edi_names


async def test_segments_carry_element_names_when_the_app_has_them(edi_gateway_store: Store) -> None:
    async with _app(edi_gateway_store, edi_names=edi_names).run_test(size=(120, 40)) as pilot:
        await settle_app(pilot)
        pilot.app.push_screen(DocumentScreen(document_id(edi_gateway_store, "po1001.x12")))
        await settle_app(pilot)
        doc = pilot.app.screen
        assert isinstance(doc, DocumentScreen)
        raw = doc.query_one(DocSegments).text_lines()
        beg = raw.index("BEG*00*SA*PO-1001**20260115  Beginning Segment for Purchase Order")
        assert raw[beg + 3] == "    BEG03 Purchase Order Number: PO-1001"
        await pilot.press("n")  # names off: one line a segment
        assert "BEG*00*SA*PO-1001**20260115" in doc.query_one(DocSegments).text_lines()


async def test_a_rejected_csv_shows_each_error_with_its_line_and_excerpt(edi_gateway_store: Store) -> None:
    async with _app(edi_gateway_store).run_test(size=(120, 40)) as pilot:
        screen = await _edi(pilot)
        doc = await _open(pilot, screen, "in", "csv")
        head = _head(doc)
        assert "1 rejected: line 3: no SKU NO-SUCH" in head
        assert "line 3    no SKU NO-SUCH  C-1,NO-SUCH,2" in head
        assert doc.query_one(DocSegments).text_lines() == ["order,sku,qty", "C-1,SKU1,1", "C-1,NO-SUCH,2"]


async def test_an_admin_resends_a_dead_855_and_is_on_the_audit_trail(edi_gateway_store: Store) -> None:
    mid = message_id(edi_gateway_store, "edi_855", 0)
    async with _app(edi_gateway_store).run_test(size=(120, 40)) as pilot:
        screen = await _edi(pilot)
        doc = await _open(pilot, screen, "out", "855")
        head = _head(doc)
        assert "855 to acme · dead · 1 attempt" in head
        assert "permission denied" in head and "waiting for the partner's 997" in head
        await pilot.press("r")
        await pilot.press("y")
        await settle_app(pilot)
        assert _state(edi_gateway_store, mid) == "pending"
        assert _audit(edi_gateway_store, "outbox.retried") == [("alice", mid)]
        assert "pending" in _head(doc)  # read again after the write


async def test_resend_from_the_list_and_the_997_of_an_inbound_document(edi_gateway_store: Store) -> None:
    sent_997 = message_id(edi_gateway_store, "edi_997", 0)
    async with _app(edi_gateway_store).run_test(size=(120, 40)) as pilot:
        screen = await _edi(pilot)
        table = screen.query_one(DocTable)
        table.move_cursor(row=[r.id for r in table.rows_shown].index(message_id(edi_gateway_store, "edi_856", 0)))
        await pilot.press("r", "y")
        await settle_app(pilot)
        assert _state(edi_gateway_store, message_id(edi_gateway_store, "edi_856", 0)) == "pending"
        assert ("out", "856", "pending", "acme") in _rows(screen)

        table.move_cursor(row=7)  # the 850 we answered with a 997
        await pilot.press("enter")
        await settle_app(pilot)
        await pilot.press("r", "y")
        await settle_app(pilot)
        assert _state(edi_gateway_store, sent_997) == "pending"
        assert [who for who, _ in _audit(edi_gateway_store, "outbox.retried")] == ["alice", "alice"]


async def test_a_viewer_cannot_resend(edi_gateway_store: Store) -> None:
    mid = message_id(edi_gateway_store, "edi_855", 0)
    async with _app(edi_gateway_store, role="viewer").run_test(size=(120, 40)) as pilot:
        screen = await _edi(pilot)
        assert screen.check_action("resend", ()) is None  # greyed in the footer
        doc = await _open(pilot, screen, "out", "855")
        assert doc.check_action("resend", ()) is None
        await pilot.press("r")
        await settle_app(pilot)
        assert pilot.app.screen is doc  # no confirmation asked
        assert _state(edi_gateway_store, mid) == "dead" and _audit(edi_gateway_store, "outbox.retried") == []
