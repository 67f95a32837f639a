"""One document: what it is, what went wrong, what came of it, and its raw text.

An inbound document (`DocumentScreen(document_id)`) shows its kind, source, state, sha256,
times, reject reason and each error with its position and excerpt, the interchanges it
carried and the 997 we answered with, and the orders taken in from it. An outbound EDI
message (`DocumentScreen(message_id=...)`) shows its delivery, its interchange and the
partner's 997 status. X12 text is shown a segment a line, each element under it with its
name when the app has X12 names (`OmsApp(edi_names=...)`).
"""

from __future__ import annotations

import datetime as dt
from typing import ClassVar

from rich.text import Text
from sqlalchemy import Connection
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import Footer, Header, Static

from store.outbox import retry
from store.views.documents import DocumentDetail, MessageDetail, OriginOrder, document_detail, message_detail, x12_segments

from ..widgets.doc_segments import DocSegments
from .ask import Confirm
from .base import OmsScreen

__all__ = ["DocumentScreen", "resend"]

# More lines than anyone reads on screen; the rest is summed up in a last line.
_MAX_LINES = 20_000
_MAX_ERRORS = 50
_ACK_WORDS = {"pending_ack": "waiting for the partner's 997", "overdue": "997 overdue",
              "accepted": "accepted by the partner's 997", "accepted_with_errors": "accepted with errors (997)",
              "rejected": "rejected by the partner's 997"}


def _t(at: dt.datetime | None) -> str:
    return at.strftime("%Y-%m-%d %H:%M:%S") if at is not None else "–"


def _field(text: Text, name: str, value: str | Text) -> None:
    text.append(f"{name:<12}", style="bold")
    text.append(value)
    text.append("\n")


def _orders(orders: tuple[OriginOrder, ...], count: int) -> str:
    shown = ", ".join(f"{o.channel} {o.external_id} ({o.status})" for o in orders)
    return shown + (f" and {count - len(orders):,} more" if count > len(orders) else "")


def resend(screen: OmsScreen, message_id: int, what: str) -> None:
    """Put outbox message `message_id` back for the gateway to send again (admin only)."""
    store = screen.store
    screen.oms.perform(
        "admin", f"resend the {what}", lambda actor: retry(store, message_id, actor=actor),
        report=f"The {what} goes out again with the gateway's next pass",
    )


class DocumentScreen(OmsScreen):
    """One inbound document or one outbound EDI message, with its text."""

    PALETTE_TITLE = "Document"
    AUTO_FOCUS = "DocSegments"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", id="document.back", tooltip="Back to the document list"),
        Binding("n", "names", "Names", id="document.names", tooltip="Show or hide the X12 element names"),
        Binding("o", "order", "Order", id="document.order", tooltip="Open the order that came from this document"),
        Binding("r", "resend", "Resend", id="document.resend",
                tooltip="Send this document (or the 997 answering it) again (admin)"),
    ]
    NEEDS: ClassVar[dict[str, str]] = {"resend": "admin"}

    def __init__(self, document_id: int | None = None, *, message_id: int | None = None) -> None:
        if (document_id is None) == (message_id is None):
            raise ValueError("give a document id or an outbox message id")
        super().__init__()
        self.document_id = document_id
        self.message_id = message_id
        self._detail: DocumentDetail | MessageDetail | None = None
        self._names = True

    @property
    def detail(self) -> DocumentDetail | MessageDetail | None:
        return self._detail

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll(id="doc-summary"):
            yield Static(id="doc-head")
        yield DocSegments(id="doc-raw")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#doc-summary").border_title = (
            f"Document {self.document_id}" if self.document_id is not None else f"Outbound message {self.message_id}")
        self._load()

    def on_data_changed(self) -> None:
        self._load()

    def _load(self) -> None:
        def fetch(conn: Connection) -> DocumentDetail | MessageDetail:
            if self.document_id is not None:
                return document_detail(conn, self.document_id)
            return message_detail(conn, self.message_id or 0)

        self.read(fetch, self._loaded, group="document-one", title="Cannot read the document")

    def _loaded(self, detail: DocumentDetail | MessageDetail) -> None:
        self._detail = detail
        head = self._inbound_head(detail) if isinstance(detail, DocumentDetail) else self._outbound_head(detail)
        self.query_one("#doc-head", Static).update(head)
        self._draw_text()

    # -- the summary ------------------------------------------------------------

    def _inbound_head(self, d: DocumentDetail) -> Text:
        """What went wrong and what came of it first; where it came from after."""
        text = Text()
        state = Text(d.state, style="bold" if d.state in ("rejected", "partial") else "")
        _field(text, "Kind", Text.assemble(f"{d.kind} · ", state, f" · {d.size:,} bytes · {d.source}"))
        if d.reject_reason:
            _field(text, "Rejected", Text(d.reject_reason, style="bold"))
        for e in d.errors[:_MAX_ERRORS]:
            where = f"line {e.position}" if e.position is not None else "anywhere"
            text.append(f"  {where:<10}", style="bold")
            text.append(e.reason)
            if e.excerpt:
                text.append(f"  {e.excerpt}", style="dim")
            text.append("\n")
        if len(d.errors) > _MAX_ERRORS:
            text.append(f"  and {len(d.errors) - _MAX_ERRORS:,} more errors\n", style="dim")
        if d.order_count:
            _field(text, "Orders", _orders(d.orders, d.order_count))
        for ic in d.interchanges:
            _field(text, "Interchange", f"{ic.control_number} from {ic.sender.strip()} ({ic.partner or 'no partner'})")
        for ack in d.acks:
            sent = f" {_t(ack.sent_at)}" if ack.sent_at else ""
            line = f"{ack.kind} {ack.state}{sent}" + (f": {ack.summary}" if ack.summary else "")
            _field(text, "Answered", line + (f" ({ack.last_error})" if ack.last_error else ""))
        _field(text, "Received", f"{_t(d.received_at)}   processed {_t(d.processed_at)}")
        _field(text, "SHA-256", d.sha256)
        text.rstrip()
        return text

    def _outbound_head(self, m: MessageDetail) -> Text:
        text = Text()
        state = Text(m.state, style="bold" if m.state in ("failed", "dead") else "")
        attempts = f" · {m.attempts} attempt" + ("s" if m.attempts != 1 else "")
        _field(text, "Kind", Text.assemble(f"{m.kind} to {m.target} · ", state, attempts))
        when = f"{_t(m.created_at)}   sent {_t(m.sent_at)}"
        if m.state in ("pending", "failed"):
            when += f"   next try {_t(m.next_attempt_at)}"
        _field(text, "Queued", when)
        if m.interchange is not None:
            ic = m.interchange
            status = _ACK_WORDS.get(ic.ack_status or "", ic.ack_status or "no 997 expected")
            _field(text, "Interchange", f"{ic.control_number} group {ic.group_control or '–'} · {status}")
        if m.answers_document is not None:
            _field(text, "Answers", f"document {m.answers_document}")
        if m.order is not None:
            _field(text, "Order", _orders((m.order,), 1))
        if m.last_error:
            _field(text, "Last error", Text(m.last_error, style="bold"))
        _field(text, "Key", m.idempotency_key)
        text.rstrip()
        return text

    # -- the text ---------------------------------------------------------------

    def _draw_text(self) -> None:
        detail = self._detail
        if detail is None:
            return
        raw = self.query_one(DocSegments)
        segments = x12_segments(detail.text)
        if segments is None:
            lines = [Text(line) for line in detail.text.splitlines()]
            raw.border_title = "Text"
        else:
            lines = self._segment_lines(segments)
            raw.border_title = f"X12 · {len(segments):,} segments"
        if len(lines) > _MAX_LINES:
            lines = [*lines[:_MAX_LINES], Text(f"… {len(lines) - _MAX_LINES:,} more lines", style="dim")]
        raw.show(lines)

    def _segment_lines(self, segments: list[list[str]]) -> list[Text]:
        names = self.oms.edi_names if self._names else None
        lines: list[Text] = []
        for seg in segments:
            tag = seg[0].strip()
            line = Text()
            line.append(tag, style="bold")
            for value in seg[1:]:
                line.append("*", style="dim")
                line.append(value)
            if names is not None and (title := names.segment_name(tag)):
                line.append(f"  {title}", style="dim italic")
            lines.append(line)
            if names is None:
                continue
            for n, value in enumerate(seg[1:], start=1):
                if not value.strip():
                    continue
                element = Text(f"    {tag}{n:02d} ", style="dim")
                element.append(f"{names.element_name(tag, n) or '?'}: ", style="dim")
                element.append(value)
                lines.append(element)
        return lines

    # -- actions ----------------------------------------------------------------

    def action_back(self) -> None:
        self.dismiss()

    def action_names(self) -> None:
        if self.oms.edi_names is None:
            self.notify("This oms has no X12 names to show.", severity="warning")
            return
        self._names = not self._names
        self._draw_text()

    def action_order(self) -> None:
        detail = self._detail
        order = None
        if isinstance(detail, DocumentDetail) and detail.orders:
            order = detail.orders[0]
        elif isinstance(detail, MessageDetail):
            order = detail.order
        if order is None:
            self.notify("No order came from this document.", severity="warning")
            return
        from .order import OrderScreen

        self.app.push_screen(OrderScreen(order.id))

    def action_resend(self) -> None:
        detail = self._detail
        if isinstance(detail, MessageDetail):
            message_id, what = detail.id, f"{detail.kind} to {detail.target}"
        elif isinstance(detail, DocumentDetail) and detail.acks:
            ack = detail.acks[-1]
            message_id, what = ack.message_id, f"{ack.kind} answering document {detail.id}"
        else:
            self.notify("Nothing was sent for this document.", severity="warning")
            return

        def answered(yes: bool | None) -> None:
            if yes:
                resend(self, message_id, what)

        self.app.push_screen(Confirm("Resend?", f"Send the {what} again?"), answered)
