"""The EDI screen (being built)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Footer, Header, Static

from .base import OmsScreen

__all__ = ["DocumentsScreen"]


class DocumentsScreen(OmsScreen):
    PALETTE_TITLE = "EDI"

    def show_rejected(self) -> None:
        """Show only the inbound documents that were rejected (the Queue's "EDI rejected")."""

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("EDI: not built yet")
        yield Footer()
