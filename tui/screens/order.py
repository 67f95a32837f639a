"""One order (being built)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Footer, Header, Static

from .base import OmsScreen

__all__ = ["OrderScreen"]


class OrderScreen(OmsScreen):
    PALETTE_TITLE = "Order"

    def __init__(self, order_id: int) -> None:
        super().__init__()
        self.order_id = order_id

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(f"order #{self.order_id}: not built yet")
        yield Footer()
