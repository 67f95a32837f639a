"""The store: models, migrations and the only write path (invariant 1).

Nothing here imports a UI or a transport (textual, httpx, paramiko, watchdog).
"""

from __future__ import annotations

from . import catalog, documents, intake, inventory, orders
from .canonical import Address, CanonicalLine, CanonicalOrder
from .check import CheckReport, Problem, check
from .db import Store, data_dir, default_url, open_store
from .errors import (
    ConfigError,
    ConflictError,
    InsufficientStock,
    IntakeError,
    NotFound,
    OrderInvalid,
    StockError,
    StoreError,
    TransitionError,
)
from .intake import IngestReport, Outcome, ingest
from .migrate import upgrade

__all__ = [
    "catalog", "documents", "intake", "inventory", "orders",
    "Address", "CanonicalLine", "CanonicalOrder",
    "CheckReport", "Problem", "check",
    "Store", "data_dir", "default_url", "open_store", "upgrade",
    "ConfigError", "ConflictError", "InsufficientStock", "IntakeError", "NotFound", "OrderInvalid",
    "StockError", "StoreError", "TransitionError",
    "IngestReport", "Outcome", "ingest",
]
