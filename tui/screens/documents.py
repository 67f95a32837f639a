"""The EDI screen (being built)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Footer, Header, Static

from .base import OmsScreen

__all__ = ["DocumentsScreen"]


class DocumentsScreen(OmsScreen):
    PALETTE_TITLE = "EDI"

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("EDI: not built yet")
        yield Footer()
