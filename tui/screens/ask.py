"""Small dialogs every screen uses: ask for a reason (or any one line), or confirm.

    self.app.push_screen(AskText("Hold 3 orders", "Why?"), callback)   -> the text, or None
    self.app.push_screen(Confirm("Cancel W00042?", "Its 2 units go back on the shelf"), cb)  -> bool

Enter accepts (an empty answer is not accepted when `required`), Escape abandons.
"""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Input, Label

from .base import OmsModal

__all__ = ["AskText", "Confirm"]


class AskText(OmsModal[str | None]):
    """One line of text: a reason, a SKU, a quantity. Dismissed with it, or None."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "abandon", "Cancel", id="ask.abandon", tooltip="Close without doing anything"),
    ]

    def __init__(self, title: str, prompt: str, *, value: str = "", placeholder: str = "",
                 required: bool = True, accept: str = "OK") -> None:
        super().__init__()
        self._title, self._prompt, self._value = title, prompt, value
        self._placeholder, self._required, self._accept = placeholder, required, accept

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog") as box:
            box.border_title = self._title
            yield Label(self._prompt)
            yield Input(self._value, placeholder=self._placeholder, id="ask-input")
            with Horizontal(classes="dialog-buttons"):
                yield Button(self._accept, variant="primary", id="ask-ok")
                yield Button("Cancel", id="ask-cancel")

    @on(Input.Submitted)
    @on(Button.Pressed, "#ask-ok")
    def _accept_answer(self) -> None:
        text = self.query_one(Input).value.strip()
        if self._required and not text:
            self.notify("Type something first, or press Escape to cancel", severity="warning")
            return
        self.dismiss(text)

    @on(Button.Pressed, "#ask-cancel")
    def action_abandon(self) -> None:
        self.dismiss(None)


class Confirm(OmsModal[bool]):
    """Yes or no before something that cannot be undone. `y`/Enter yes, `n`/Escape no."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", "Yes", id="confirm.yes", tooltip="Go ahead"),
        Binding("n,escape", "answer(False)", "No", id="confirm.no", tooltip="Do nothing"),
    ]

    def __init__(self, title: str, text: str, *, yes: str = "Yes") -> None:
        super().__init__()
        self._title, self._text, self._yes = title, text, yes

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog") as box:
            box.border_title = self._title
            yield Label(self._text)
            with Horizontal(classes="dialog-buttons"):
                yield Button(self._yes, variant="primary", id="confirm-yes")
                yield Button("No", id="confirm-no")

    def on_mount(self) -> None:
        self.query_one("#confirm-yes", Button).focus()

    @on(Button.Pressed, "#confirm-yes")
    def _yes_pressed(self) -> None:
        self.dismiss(True)

    @on(Button.Pressed, "#confirm-no")
    def _no_pressed(self) -> None:
        self.dismiss(False)

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)
