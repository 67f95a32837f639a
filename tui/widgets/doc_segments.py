"""A document's text, one line each, drawn only where it is on screen (the Line API), so a
payload of many thousand segments opens at once."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

__all__ = ["DocSegments"]


class DocSegments(ScrollView, can_focus=True):
    """Lines of rich text; arrows, Page Up/Down, Home and End scroll them."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._lines: tuple[Text, ...] = ()

    @property
    def lines(self) -> tuple[Text, ...]:
        return self._lines

    def show(self, lines: Sequence[Text]) -> None:
        self._lines = tuple(lines)
        width = max((line.cell_len for line in self._lines), default=0)
        self.virtual_size = Size(width, len(self._lines))
        self.refresh()

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        index = y + scroll_y
        width = self.size.width
        if not 0 <= index < len(self._lines):
            return Strip.blank(width, self.rich_style)
        segments = list(self._lines[index].render(self.app.console))
        strip = Strip(segments).crop(scroll_x, scroll_x + width)
        return strip.extend_cell_length(width, self.rich_style).apply_style(self.rich_style)

    def text_lines(self) -> list[str]:
        """Every line as plain text (what a reader sees, without styles)."""
        return [line.plain for line in self._lines]

