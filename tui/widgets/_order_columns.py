"""The order list's columns: which of them fit a width, and one line of cells drawn as a Strip."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip

from store.views import OrderRow

from ..labels import status_label

__all__ = ["EXCEPTION_COLUMN", "Layout", "draw", "layout", "order_cells", "titles"]

# (column index, width) of each column shown, left to right.
Layout = tuple[tuple[int, int], ...]


@dataclass(frozen=True, slots=True)
class _Column:
    title: str
    width: int
    keep: int  # on a narrow screen the lowest `keep` goes first
    right: bool = False
    flex: bool = False


_COLUMNS = (
    _Column("Order", 14, 10),
    _Column("Channel", 9, 3),
    _Column("Status", 12, 9),
    _Column("Exception", 12, 8),
    _Column("Buyer", 10, 6, flex=True),
    _Column("City", 12, 2),
    _Column("Total", 13, 7, right=True),
    _Column("Received UTC", 16, 4),
)
EXCEPTION_COLUMN = 3


def order_cells(row: OrderRow) -> tuple[str, ...]:
    """Every column's text for one order, in column order."""
    return (
        row.external_id,
        row.channel,
        status_label(row.status),
        row.exception or "",
        row.buyer or "",
        row.city or "",
        row.total,
        row.received_at.strftime("%Y-%m-%d %H:%M"),
    )


def titles() -> tuple[str, ...]:
    return tuple(column.title for column in _COLUMNS)


@lru_cache(maxsize=16)
def layout(width: int) -> Layout:
    """The columns that fit `width` cells; the flexible one takes what is left over."""

    def natural(cols: Sequence[int]) -> int:
        return 1 + sum(_COLUMNS[i].width for i in cols) + len(cols) - 1

    kept = list(range(len(_COLUMNS)))
    while len(kept) > 1 and natural(kept) > width:
        kept.remove(min(kept, key=lambda i: _COLUMNS[i].keep))
    spare = max(0, width - natural(kept))
    return tuple((i, _COLUMNS[i].width + (spare if _COLUMNS[i].flex else 0)) for i in kept)


def _fit(text: str, width: int, right: bool) -> str:
    length = cell_len(text)
    if length > width:
        return set_cell_size(text, width - 1) + "…"
    pad = " " * (width - length)
    return pad + text if right else text + pad


def draw(cells: Sequence[tuple[str, Style]], shown: Layout, width: int, style: Style, mark: str = " ") -> Strip:
    """One line: `cells[i]` (text, style) in column `shown[i]`, padded with `style` to `width`;
    `mark` (one cell) in the margin before the first column."""
    segments = [Segment(mark, style)]
    for n, ((text, cell_style), (i, w)) in enumerate(zip(cells, shown)):
        if n:
            segments.append(Segment(" ", style))
        segments.append(Segment(_fit(text, w, _COLUMNS[i].right), cell_style))
    return Strip(segments).adjust_cell_length(width, style)
