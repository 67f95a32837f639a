"""The document list: inbound documents and outbound EDI, newest first, one row each.

Wide, it shows when, direction, kind, partner, state, ISA13, the 997 and the detail (the
source, or why it was rejected or not delivered); under 88 columns the ISA13 and detail go.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from rich.text import Text
from textual import events
from textual.widgets import DataTable

from store.views.documents import DocumentRow

__all__ = ["DocTable", "row_key"]

_WIDE = 88
_BAD = {"rejected", "partial", "failed", "dead"}
_ACK_LABELS = {"pending_ack": "waiting", "accepted_with_errors": "w/ errors"}


def row_key(row: DocumentRow) -> str:
    return f"{row.direction}:{row.id}"


def _when(at: dt.datetime) -> str:
    return at.strftime("%m-%d %H:%M")


def _ack(row: DocumentRow) -> Text:
    if row.ack is None:
        return Text("")
    label = _ACK_LABELS.get(row.ack, row.ack)
    bad = row.ack in ("rejected", "overdue") or row.ack.endswith(("dead", "failed"))
    return Text(label, style="bold" if bad else "")


def _state(state: str) -> Text:
    return Text(state, style="bold" if state in _BAD else "")


class DocTable(DataTable[str | Text]):
    """Documents in and out; Enter opens the one under the cursor."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=False)
        self._rows: tuple[DocumentRow, ...] = ()
        self._wide: bool | None = None

    @property
    def rows_shown(self) -> tuple[DocumentRow, ...]:
        return self._rows

    def current(self) -> DocumentRow | None:
        """The row under the cursor, if any."""
        if not self._rows or not 0 <= self.cursor_row < len(self._rows):
            return None
        return self._rows[self.cursor_row]

    def show(self, rows: Sequence[DocumentRow]) -> None:
        """Show `rows`, keeping the cursor on the same document when it is still listed."""
        keep = self.current()
        self._rows = tuple(rows)
        self._fill(keep)

    def on_resize(self, event: events.Resize) -> None:
        if (event.size.width >= _WIDE) != self._wide:
            self._fill(self.current())

    def _fill(self, keep: DocumentRow | None) -> None:
        wide = self.size.width >= _WIDE
        if wide != self._wide:
            self.clear(columns=True)
            self._wide = wide
            # Fixed widths: a column measured from its cells is measured when the table is next
            # idle, and a screen drawn before that showed every value cut to its title's width.
            self.add_column("When", key="when", width=11)
            self.add_column("", key="dir", width=3)
            self.add_column("Kind", key="kind", width=5)
            self.add_column("Partner", key="partner", width=8)
            self.add_column("State", key="state", width=9)
            if wide:
                self.add_column("ISA13", key="control", width=9)
            self.add_column("997", key="ack", width=11)
            if wide:
                self.add_column("Detail", key="detail", width=40)
        else:
            self.clear()
        for row in self._rows:
            cells: list[str | Text] = [
                _when(row.at), "in" if row.direction == "in" else "out", row.kind, row.partner or "–",
                _state(row.state),
            ]
            if wide:
                cells.append(row.control or "")
            cells.append(_ack(row))
            if wide:
                cells.append(row.detail[:80])
            self.add_row(*cells, key=row_key(row))
        if keep is not None:
            for n, row in enumerate(self._rows):
                if row_key(row) == row_key(keep):
                    self.move_cursor(row=n, animate=False)
                    break
