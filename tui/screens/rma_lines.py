"""A form over an RMA's lines: a few fields for the whole return, then inputs per line.

    self.app.push_screen(RmaLinesDialog("Receive RMA-000001", "What arrived?", columns, lines,
                                        fields=[("location", "Received at", "A")]), callback)

Dismissed with a `LinesAnswer` (everything typed, as text), or None when abandoned.
Ctrl+S (or Enter in a field) accepts, Escape abandons.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Input, Label

from ..widgets.rma_line_inputs import Column, LineSpec, RmaLineInputs
from .base import OmsModal

__all__ = ["LinesAnswer", "RmaLinesDialog"]


@dataclass(frozen=True, slots=True)
class LinesAnswer:
    fields: dict[str, str]  # key -> text, for the fields above the lines
    lines: dict[int, dict[str, str]]  # line number -> column key -> text


class RmaLinesDialog(OmsModal[LinesAnswer | None]):
    """The lines of a return with a quantity (or more) to type for each."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "accept", "Save", id="rma-lines.accept", tooltip="Do it with what is typed"),
        Binding("escape", "abandon", "Cancel", id="rma-lines.abandon", tooltip="Close without doing anything"),
    ]

    def __init__(self, title: str, prompt: str, columns: Sequence[Column], lines: Sequence[LineSpec], *,
                 fields: Sequence[tuple[str, str, str]] = (), accept: str = "OK") -> None:
        super().__init__()
        self._title, self._prompt, self._accept_label = title, prompt, accept
        self._columns, self._lines, self._fields = tuple(columns), tuple(lines), tuple(fields)

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog rma-lines-dialog") as box:
            box.border_title = self._title
            yield Label(self._prompt)
            for key, label, value in self._fields:
                with Horizontal(classes="rma-field"):
                    yield Label(label, classes="rma-field-label")
                    yield Input(value, id=f"field-{key}", compact=True)
            yield RmaLineInputs(self._columns, self._lines)
            with Horizontal(classes="dialog-buttons"):
                yield Button(self._accept_label, variant="primary", id="rma-lines-ok")
                yield Button("Cancel", id="rma-lines-cancel")

    def on_mount(self) -> None:
        inputs = self.query(Input)
        if inputs:
            inputs.first().focus()

    @on(Input.Submitted)
    @on(Button.Pressed, "#rma-lines-ok")
    def action_accept(self) -> None:
        fields = {key: self.query_one(f"#field-{key}", Input).value.strip() for key, _, _ in self._fields}
        self.dismiss(LinesAnswer(fields, self.query_one(RmaLineInputs).values()))

    @on(Button.Pressed, "#rma-lines-cancel")
    def action_abandon(self) -> None:
        self.dismiss(None)
