"""A small table of the gateway and dashboard screens whose less important columns drop out
on narrow terminals; rows keep their keys so the cursor stays on the same row on refresh."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rich.text import Text
from textual import events
from textual.widgets import DataTable

__all__ = ["Column", "GatewayTable", "Row"]

Cell = str | Text


@dataclass(frozen=True, slots=True)
class Column:
    key: str
    title: str
    min_width: int = 0  # the table's width from which this column is shown


@dataclass(frozen=True, slots=True)
class Row:
    key: str
    cells: tuple[Cell, ...]  # one per column, shown or not


class GatewayTable(DataTable[Cell]):
    """Rows under fixed columns; `show(rows)` replaces them, keeping the cursor's row."""

    def __init__(self, columns: Sequence[Column], *, empty: str = "", id: str | None = None,
                 classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes, cursor_type="row", zebra_stripes=False)
        self._columns = tuple(columns)
        self._rows: tuple[Row, ...] = ()
        self._shown: tuple[int, ...] | None = None
        self._empty = empty

    @property
    def rows_shown(self) -> tuple[Row, ...]:
        return self._rows

    def current_key(self) -> str | None:
        if not self._rows or not 0 <= self.cursor_row < len(self._rows):
            return None
        return self._rows[self.cursor_row].key

    def show(self, rows: Sequence[Row]) -> None:
        keep = self.current_key()
        self._rows = tuple(rows)
        self._fill(keep)

    def on_resize(self, event: events.Resize) -> None:
        if self._visible(event.size.width) != self._shown:
            self._fill(self.current_key())

    def _visible(self, width: int) -> tuple[int, ...]:
        return tuple(n for n, c in enumerate(self._columns) if width >= c.min_width)

    def _fill(self, keep: str | None) -> None:
        shown = self._visible(self.size.width)
        if shown != self._shown:
            self.clear(columns=True)
            self._shown = shown
            for n in shown:
                self.add_column(self._columns[n].title, key=self._columns[n].key)
        else:
            self.clear()
        for row in self._rows:
            self.add_row(*(row.cells[n] for n in shown), key=row.key)
        self.border_subtitle = self._empty if not self._rows else ""
        if keep is not None:
            for n, row in enumerate(self._rows):
                if row.key == keep:
                    self.move_cursor(row=n, animate=False)
                    break
