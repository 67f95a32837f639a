"""Writing canonical JSON-lines files for tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def order_json(n: int, *, channel: str = "web", skus: tuple[str, ...] = ("S1", "S2", "S3"), version: int = 1) -> dict[str, Any]:
    return {
        "channel": channel,
        "external_id": f"J{n:05d}",
        "version": version,
        "currency": "USD",
        "placed_at": "2026-11-20T09:30:00Z",
        "buyer": {"name": f"Buyer {n}"},
        "ship_to": {"name": f"Buyer {n}", "city": "Austin", "region": "TX", "country": "US"},
        "lines": [{"item": sku, "qty": 1 + (n + i) % 3, "unit_price_minor": 1299} for i, sku in enumerate(skus)],
    }


def write_jsonl(path: Path, rows: list[Any]) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return path
