"""The filter choices beside the document list (all, inbound, outbound, rejected, awaiting
997, not delivered), each with its count; the number before each is its key."""

from __future__ import annotations

from collections.abc import Mapping

from rich.text import Text
from textual import on
from textual.message import Message
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from store.views.documents import CHOICES

__all__ = ["CHOICE_TITLES", "DocFilter"]

CHOICE_TITLES: dict[str, str] = {
    "all": "All",
    "inbound": "Inbound",
    "outbound": "Outbound",
    "rejected": "Rejected",
    "awaiting_ack": "Awaiting 997",
    "undelivered": "Not delivered",
}
_TITLE_WIDTH = 13
_COUNT_WIDTH = 5


def _prompt(number: int, choice: str, count: int | None, active: bool) -> Text:
    shown = "–" if count is None else f"{count:,}"
    text = Text(f"{number} {CHOICE_TITLES[choice]:<{_TITLE_WIDTH}}{shown:>{_COUNT_WIDTH}}")
    if active:
        text.stylize("bold")
    return text


class DocFilter(OptionList):
    """One line per choice of documents with how many it holds."""

    class Chosen(Message):
        """The user picked the choice `choice`."""

        def __init__(self, doc_filter: DocFilter, choice: str) -> None:
            super().__init__()
            self.doc_filter, self.choice = doc_filter, choice

        @property
        def control(self) -> DocFilter:
            return self.doc_filter

    def __init__(self, *, id: str | None = None) -> None:
        self._counts: dict[str, int] = {}
        self._active = CHOICES[0]
        super().__init__(*(Option(_prompt(n + 1, c, None, n == 0), id=c) for n, c in enumerate(CHOICES)), id=id)

    def show_counts(self, counts: Mapping[str, int]) -> None:
        self._counts = dict(counts)
        self._redraw()

    def mark(self, choice: str) -> None:
        self._active = choice
        self.highlighted = self.get_option_index(choice)
        self._redraw()

    def _redraw(self) -> None:
        for n, choice in enumerate(CHOICES):
            self.replace_option_prompt(choice, _prompt(n + 1, choice, self._counts.get(choice), choice == self._active))

    @on(OptionList.OptionSelected)
    def _selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if event.option.id is not None:
            self.post_message(self.Chosen(self, event.option.id))
