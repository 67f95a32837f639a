"""The Dashboard screen (being built)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Footer, Header, Static

from .base import OmsScreen

__all__ = ["DashboardScreen"]


class DashboardScreen(OmsScreen):
    PALETTE_TITLE = "Dashboard"

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("Dashboard: not built yet")
        yield Footer()
