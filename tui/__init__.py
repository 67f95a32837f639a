"""The terminal UI. It reads the store through `store.views` and writes only through `store/`."""

from __future__ import annotations

from .access import ROLES, Operator
from .app import EdiNames, OmsApp

__all__ = ["EdiNames", "OmsApp", "Operator", "ROLES"]
