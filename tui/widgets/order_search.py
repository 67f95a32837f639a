"""The order list's search box: the start of an external id or a buyer's name, typed in."""

from __future__ import annotations

from textual import on
from textual.message import Message
from textual.timer import Timer
from textual.widgets import Input

__all__ = ["OrderSearch"]

# Typing pauses this long before the list is searched again (each key would be a query).
DEBOUNCE_SECONDS = 0.15


class OrderSearch(Input):
    """Type to narrow the list; Enter goes back to the list keeping the search, Escape (on the
    screen) drops it."""

    class Search(Message):
        """The text to search for now ("" for no search)."""

        def __init__(self, search: OrderSearch, text: str, done: bool) -> None:
            super().__init__()
            self.search, self.text, self.done = search, text, done

        @property
        def control(self) -> OrderSearch:
            return self.search

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(placeholder="order number or buyer name…", id=id)
        self._timer: Timer | None = None

    @on(Input.Changed)
    def _typed(self, event: Input.Changed) -> None:
        event.stop()
        if self._timer is not None:
            self._timer.stop()
        self._timer = self.set_timer(DEBOUNCE_SECONDS, self._send)

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self._send(done=True)

    def _send(self, done: bool = False) -> None:
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        self.post_message(self.Search(self, self.value.strip(), done))
