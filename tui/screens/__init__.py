"""One screen per module."""

from __future__ import annotations

from .orders import OrdersScreen

__all__ = ["OrdersScreen"]
