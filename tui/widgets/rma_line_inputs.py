"""Rows of an RMA or an order with a small input per column: quantities, reasons, locations."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Input, Label

__all__ = ["Column", "LineSpec", "RmaLineInputs", "count_of"]


@dataclass(frozen=True, slots=True)
class Column:
    """One input per line: `key` in the answer, a title above it, its width, digits only or text."""

    key: str
    title: str
    width: int = 8
    numeric: bool = True


@dataclass(frozen=True, slots=True)
class LineSpec:
    """A line: its number, what the operator reads about it, and the inputs' starting values."""

    line_no: int
    label: str
    values: Mapping[str, str] = field(default_factory=dict)


class RmaLineInputs(VerticalScroll, can_focus=False):
    """A title row, then one row per line: its description and an input per column."""

    def __init__(self, columns: Sequence[Column], lines: Sequence[LineSpec], *, label_title: str = "Line",
                 id: str | None = None) -> None:
        super().__init__(id=id)
        self._columns, self._lines, self._label_title = tuple(columns), tuple(lines), label_title

    def compose(self) -> ComposeResult:
        with Horizontal(classes="rma-line-titles"):
            yield Label(self._label_title, classes="rma-line-label")
            for col in self._columns:
                title = Label(col.title, classes="rma-line-title")
                title.styles.width = col.width
                yield title
        for line in self._lines:
            with Horizontal(classes="rma-line-row"):
                yield Label(line.label, classes="rma-line-label")
                for col in self._columns:
                    box = Input(line.values.get(col.key, ""), type="integer" if col.numeric else "text",
                                id=f"line-{line.line_no}-{col.key}", compact=True)
                    box.styles.width = col.width
                    yield box

    def values(self) -> dict[int, dict[str, str]]:
        """What is typed: line number -> column key -> text (stripped)."""
        return {
            line.line_no: {col.key: self.query_one(f"#line-{line.line_no}-{col.key}", Input).value.strip()
                           for col in self._columns}
            for line in self._lines
        }


def count_of(text: str, what: str) -> int:
    """A count the operator typed ("3"), or ValueError naming `what` it was for."""
    try:
        n = int(text)
    except ValueError:
        raise ValueError(f"{what}: {text!r} is not a whole number") from None
    if n < 0:
        raise ValueError(f"{what} cannot be negative ({n})")
    return n
