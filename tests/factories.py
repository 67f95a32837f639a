"""Canonical orders for tests, short to write."""

from __future__ import annotations

from store import CanonicalLine, CanonicalOrder


def order(
    external_id: str,
    *lines: tuple[str, int],
    channel: str = "web",
    version: int | None = 1,
    kind: str = "sku",
    **kw: object,
) -> CanonicalOrder:
    return CanonicalOrder(
        channel=channel,
        external_id=external_id,
        lines=tuple(CanonicalLine(item, qty, 1000, item_kind=kind) for item, qty in lines),
        currency="USD",
        version=version,
        **kw,  # type: ignore[arg-type]
    )
