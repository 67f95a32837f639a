"""Authorise a return (RMA) for an order (being built)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Static

from .base import OmsModal

__all__ = ["NewReturnScreen"]


class NewReturnScreen(OmsModal[str | None]):
    """Dismissed with the new RMA number, or None when abandoned."""

    def __init__(self, order_id: int) -> None:
        super().__init__()
        self.order_id = order_id

    def compose(self) -> ComposeResult:
        yield Static("not built yet")
