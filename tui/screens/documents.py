"""The EDI screen: trading partners and the documents in and out, with their 997 status."""

from __future__ import annotations

from typing import ClassVar

from sqlalchemy import Connection
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, Footer, Header

from store.views.documents import CHOICES, DocumentRow, PartnerRow, document_counts, document_rows, partner_rows

from ..widgets.doc_filter import CHOICE_TITLES, DocFilter
from ..widgets.doc_partners import DocPartners
from ..widgets.doc_table import DocTable
from .ask import Confirm
from .base import OmsScreen
from .document import DocumentScreen, resend

__all__ = ["DocumentsScreen"]

_FILTER_GROUP = Binding.Group("Show", compact=True)
_EMPTY = {
    "all": "No documents yet.",
    "inbound": "No documents received.",
    "outbound": "No EDI documents sent.",
    "rejected": "No rejected documents.",
    "awaiting_ack": "Every document sent has its 997.",
    "undelivered": "Every EDI document was delivered and accepted.",
}


def _filter_binding(number: int, choice: str) -> Binding:
    return Binding(str(number), f"show({choice!r})", CHOICE_TITLES[choice], group=_FILTER_GROUP,
                   id=f"documents.filter-{choice}", tooltip=f"Show {CHOICE_TITLES[choice].lower()} documents")


class DocumentsScreen(OmsScreen):
    """Documents received and EDI sent, newest first; by choice and by partner."""

    PALETTE_TITLE = "EDI"
    AUTO_FOCUS = "DocTable"

    BINDINGS: ClassVar[list[BindingType]] = [
        *(_filter_binding(n + 1, choice) for n, choice in enumerate(CHOICES)),
        Binding("enter", "open", "Open", id="documents.open", tooltip="Show the document under the cursor"),
        Binding("p", "partners", "Partners", id="documents.partners", tooltip="Choose a trading partner"),
        Binding("r", "resend", "Resend", id="documents.resend",
                tooltip="Send the outbound document under the cursor again (admin)"),
        Binding("ctrl+r", "reload", "Reload", id="documents.reload", tooltip="Read the documents and counts again"),
    ]
    NEEDS: ClassVar[dict[str, str]] = {"resend": "admin"}

    def __init__(self) -> None:
        super().__init__()
        self._choice = "all"
        self._partner: str | None = None
        self._ready = False

    @property
    def choice(self) -> str:
        return self._choice

    @property
    def partner(self) -> str | None:
        return self._partner

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="doc-body"):
            with Vertical(id="doc-side"):
                yield DocFilter(id="doc-filter")
                yield DocPartners(id="doc-partners")
            yield DocTable(id="doc-list")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(DocFilter).border_title = "Show"
        self.query_one(DocPartners).border_title = "Partners"
        self._ready = True
        self._show(self._choice, self._partner)

    def on_data_changed(self) -> None:
        self._load(self._choice, self._partner)

    # -- choosing ---------------------------------------------------------------

    def show_rejected(self) -> None:
        """Show only the inbound documents that were rejected (the Queue's "EDI rejected")."""
        self._show("rejected", None)

    def action_show(self, choice: str) -> None:
        self._show(choice, self._partner)

    def action_partners(self) -> None:
        self.query_one(DocPartners).focus()

    def action_reload(self) -> None:
        self._load(self._choice, self._partner)

    def _show(self, choice: str, partner: str | None) -> None:
        self._choice, self._partner = choice, partner
        if not self._ready:
            return  # on_mount shows it
        self.query_one(DocFilter).mark(choice)
        self.query_one(DocPartners).mark(partner)
        table = self.query_one(DocTable)
        table.border_title = CHOICE_TITLES[choice] + (f" · {partner}" if partner else "")
        self._load(choice, partner)

    @on(DocFilter.Chosen)
    def _chosen(self, event: DocFilter.Chosen) -> None:
        self._show(event.choice, self._partner)
        self.query_one(DocTable).focus()

    @on(DocPartners.Chosen)
    def _partner_chosen(self, event: DocPartners.Chosen) -> None:
        self._show(self._choice, event.code)
        self.query_one(DocTable).focus()

    # -- reading ----------------------------------------------------------------

    def _load(self, choice: str, partner: str | None) -> None:
        def fetch(conn: Connection) -> tuple[list[PartnerRow], dict[str, int], list[DocumentRow]]:
            return partner_rows(conn), document_counts(conn, partner), document_rows(conn, choice, partner)

        self.read(fetch, lambda read: self._loaded(choice, partner, *read), group="documents-list",
                  title="Cannot read documents")

    def _loaded(self, choice: str, partner: str | None, partners: list[PartnerRow], counts: dict[str, int],
                rows: list[DocumentRow]) -> None:
        if (choice, partner) != (self._choice, self._partner):
            return  # chosen again meanwhile
        self.query_one(DocFilter).show_counts(counts)
        self.query_one(DocPartners).show(partners)
        table = self.query_one(DocTable)
        table.show(rows)
        total = counts.get(choice, len(rows))
        if not rows:
            table.border_subtitle = _EMPTY[choice]
        elif total > len(rows):
            table.border_subtitle = f"newest {len(rows):,} of {total:,}"
        else:
            table.border_subtitle = f"{total:,} document" + ("s" if total != 1 else "")

    # -- acting -----------------------------------------------------------------

    def action_open(self) -> None:
        row = self.query_one(DocTable).current()
        if row is None:
            return
        if row.direction == "in":
            self.app.push_screen(DocumentScreen(row.id))
        else:
            self.app.push_screen(DocumentScreen(message_id=row.id))

    @on(DataTable.RowSelected)
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_open()

    def action_resend(self) -> None:
        row = self.query_one(DocTable).current()
        if row is None:
            return
        if row.direction != "out":
            self.notify("Open an inbound document (Enter) to resend its 997.", severity="warning")
            return
        what = f"{row.kind} to {row.partner}" + (f" (ISA13 {row.control})" if row.control else "")

        def answered(yes: bool | None) -> None:
            if yes:
                resend(self, row.id, what)

        self.app.push_screen(Confirm(f"Resend {row.kind}?", f"Send the {what} again?"), answered)

