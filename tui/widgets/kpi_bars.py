"""Rates as horizontal bars, one per channel: the on-time ship rate at a glance."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.geometry import Size
from textual.widget import Widget

__all__ = ["KpiBars"]

_NAME = 10
_VALUE = 5


class KpiBars(Widget):
    """`(name, rate or None, note)` rows drawn as bars as wide as the widget allows."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._rows: tuple[tuple[str, float | None, str], ...] = ()

    @property
    def rows(self) -> tuple[tuple[str, float | None, str], ...]:
        return self._rows

    def show(self, rows: Sequence[tuple[str, float | None, str]]) -> None:
        self._rows = tuple(rows)
        self.refresh(layout=True)

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return max(len(self._rows), 1)

    def render(self) -> Text:
        if not self._rows:
            return Text("Nothing shipped in this period.", style="dim")
        width = max(self.content_size.width - _NAME - _VALUE - 2, 4)
        text = Text()
        for n, (name, rate, note) in enumerate(self._rows):
            if n:
                text.append("\n")
            text.append(f"{name[:_NAME]:<{_NAME}}")
            if rate is None:
                text.append(f"{'–':>{_VALUE}} ", style="dim")
                text.append(note[:width], style="dim")
                continue
            filled = round(rate * width)
            text.append(f"{rate:>{_VALUE}.0%} ")
            text.append("█" * filled, style="bold")
            text.append("░" * (width - filled), style="dim")
        return text
