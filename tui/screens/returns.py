"""The Returns screen (being built)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Footer, Header, Static

from .base import OmsScreen

__all__ = ["ReturnsScreen"]


class ReturnsScreen(OmsScreen):
    PALETTE_TITLE = "Returns"

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("Returns: not built yet")
        yield Footer()
