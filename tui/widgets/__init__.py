"""One widget per module."""

from __future__ import annotations

from .order_table import OrderTable
from .status_filter import StatusFilter

__all__ = ["OrderTable", "StatusFilter"]
