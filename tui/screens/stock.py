"""The Stock screen (being built)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Footer, Header, Static

from .base import OmsScreen

__all__ = ["StockScreen"]


class StockScreen(OmsScreen):
    PALETTE_TITLE = "Stock"

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("Stock: not built yet")
        yield Footer()
