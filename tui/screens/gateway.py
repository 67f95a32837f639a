"""The Gateway screen (being built)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Footer, Header, Static

from .base import OmsScreen

__all__ = ["GatewayScreen"]


class GatewayScreen(OmsScreen):
    PALETTE_TITLE = "Gateway"

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("Gateway: not built yet")
        yield Footer()
