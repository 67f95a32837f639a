"""The store's one error tree.

    StoreError
    ├── ConfigError            bad database URL, store not initialised
    │   └── RulesInvalid       routing rules that cannot be applied (names the rule and key)
    ├── NotFound               a named channel, SKU, location or order does not exist
    ├── IntakeError            an inbound order cannot be taken as it is
    │   └── OrderInvalid       the canonical order breaks a rule (qty < 1, no lines, ...)
    ├── StockError             a stock change would break the ledger rules
    │   └── InsufficientStock  a reservation or decrease larger than what is available
    ├── TransitionError        an order state change not in the transition table
    ├── ShippingError          a shipment that cannot be made as asked (no tracking, more than reserved)
    ├── ReturnError            a return that cannot be made as asked (more than shipped, not received)
    └── ConflictError          a concurrent writer won; the caller may retry

Database driver errors are translated at the boundary (`store.db`) and never leak
upward as raw DBAPI exceptions from the write functions.
"""

from __future__ import annotations

__all__ = [
    "StoreError",
    "ConfigError",
    "NotFound",
    "IntakeError",
    "OrderInvalid",
    "StockError",
    "InsufficientStock",
    "TransitionError",
    "ConflictError",
    "RulesInvalid",
    "ShippingError",
    "ReturnError",
]


class StoreError(Exception):
    """Base of every error raised by `store`."""


class ConfigError(StoreError):
    pass


class NotFound(StoreError):
    pass


class IntakeError(StoreError):
    pass


class OrderInvalid(IntakeError):
    pass


class StockError(StoreError):
    pass


class InsufficientStock(StockError):
    pass


class TransitionError(StoreError):
    pass


class ConflictError(StoreError):
    pass


class RulesInvalid(ConfigError):
    pass


class ShippingError(StoreError):
    pass


class ReturnError(StoreError):
    pass
