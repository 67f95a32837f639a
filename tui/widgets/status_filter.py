"""The filter choices beside the order list: all orders, each status, the exception queues, with counts."""

from __future__ import annotations

from collections.abc import Mapping

from rich.text import Text
from textual import on
from textual.message import Message
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from ..labels import FILTER_GROUPS, FILTER_KEYS, count_text, filter_title

__all__ = ["StatusFilter"]

_TITLE_WIDTH = 12
_COUNT_WIDTH = 6


def _prompt(number: int, key: str, count: int | None, active: bool) -> Text:
    digit = str(number) if number < 10 else " "
    text = Text(f"{digit} {filter_title(key):<{_TITLE_WIDTH}}{count_text(count):>{_COUNT_WIDTH}}")
    if active:
        text.stylize("bold")
    return text


def _options(active: str) -> list[Option | None]:
    """Every choice, a separator between groups."""
    options: list[Option | None] = []
    for group in FILTER_GROUPS:
        if options:
            options.append(None)
        options.extend(Option(_prompt(FILTER_KEYS.index(key), key, None, key == active), id=key) for key in group)
    return options


class StatusFilter(OptionList):
    """One line per filter choice with its count; the number before each is its key."""

    class Chosen(Message):
        """The user picked the filter choice `key` (a status, a queue, `all` or `exceptions`)."""

        def __init__(self, status_filter: StatusFilter, key: str) -> None:
            super().__init__()
            self.status_filter, self.key = status_filter, key

        @property
        def control(self) -> StatusFilter:
            return self.status_filter

    def __init__(self, *, name: str | None = None, id: str | None = None, classes: str | None = None) -> None:
        self._counts: dict[str, int] = {}
        self._active = FILTER_KEYS[0]
        super().__init__(*_options(self._active), name=name, id=id, classes=classes)

    def count(self, key: str) -> int | None:
        return self._counts.get(key)

    def show_counts(self, counts: Mapping[str, int]) -> None:
        self._counts = dict(counts)
        self._redraw()

    def mark(self, key: str) -> None:
        """Show `key` as the filter in force and move the highlight to it."""
        self._active = key
        self.highlighted = self.get_option_index(key)
        self._redraw()

    def _redraw(self) -> None:
        for n, key in enumerate(FILTER_KEYS):
            # A queue without orders has no count row: it is empty.
            count = self._counts.get(key, 0 if self._counts else None)
            self.replace_option_prompt(key, _prompt(n, key, count, key == self._active))

    @on(OptionList.OptionSelected)
    def _selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if event.option.id is not None:
            self.post_message(self.Chosen(self, event.option.id))
