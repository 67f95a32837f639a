"""Canonical orders as JSON lines: the simplest source, for tests, migrations and scripts.

One order per line:

    {"channel": "web", "external_id": "1001", "version": 1, "currency": "USD",
     "placed_at": "2026-11-01T10:00:00Z", "buyer": {"name": "Ada", "ref": "C-9"},
     "ship_to": {"name": "Ada", "address1": "1 Main St", "city": "Austin", "region": "TX",
                 "postal_code": "78701", "country": "US"},
     "requested_ship_date": "2026-11-05", "cancel_after": "2026-11-20",
     "lines": [{"item": "SKU-1", "qty": 2, "unit_price_minor": 1299}]}

`item` is our SKU code unless `item_kind` says otherwise (channel_item_id, buyer_part,
vendor_part, upc, gtin). The file is stored before it is read; bad lines are rejected with
their line numbers and reasons, the good lines still go in.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from store import Store, ingest
from store.canonical import Address, CanonicalLine, CanonicalOrder
from store.documents import FINAL_STATES, DocumentProblem, finish, store_payload

from .errors import SourceError

__all__ = ["ImportResult", "import_jsonl", "import_jsonl_bytes", "parse_line"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class _Party(_Strict):
    name: str | None = None
    ref: str | None = None


class _Address(_Strict):
    name: str | None = None
    address1: str | None = None
    address2: str | None = None
    city: str | None = None
    region: str | None = None
    postal_code: str | None = None
    country: Annotated[str, Field(min_length=2, max_length=2)] | None = None
    latitude: Annotated[float, Field(ge=-90, le=90)] | None = None
    longitude: Annotated[float, Field(ge=-180, le=180)] | None = None


class _Line(_Strict):
    item: Annotated[str, Field(min_length=1, max_length=128)]
    qty: Annotated[int, Field(gt=0, strict=True)]
    unit_price_minor: Annotated[int, Field(ge=0, strict=True)]
    item_kind: str = "sku"
    item_ids: dict[str, str] = {}
    description: str | None = None


class _Order(_Strict):
    channel: Annotated[str, Field(min_length=1)]
    external_id: Annotated[str, Field(min_length=1, max_length=128)]
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")]
    lines: Annotated[list[_Line], Field(min_length=1)]
    version: Annotated[int, Field(ge=0, strict=True)] | None = None
    updated_at: AwareDatetime | None = None
    placed_at: AwareDatetime | None = None
    buyer: _Party = _Party()
    ship_to: _Address = _Address()
    requested_ship_date: dt.date | None = None
    cancel_after: dt.date | None = None
    priority: int = 0
    fulfilment: Literal["ship", "pickup"] = "ship"
    pickup_location: str | None = None


def _explain(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors()[:3]:
        where = ".".join(str(p) for p in err["loc"]) or "order"
        parts.append(f"{where}: {err['msg']}")
    more = f" (+{exc.error_count() - 3} more)" if exc.error_count() > 3 else ""
    return "; ".join(parts) + more


def parse_line(text: str) -> CanonicalOrder:
    """One JSON line to a canonical order; ValueError with a readable reason otherwise."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not valid JSON: {exc.msg} at column {exc.colno}") from None
    if not isinstance(data, dict):
        raise ValueError(f"expected a JSON object, got {type(data).__name__}")
    try:
        o = _Order.model_validate(data)
    except ValidationError as exc:
        raise ValueError(_explain(exc)) from None
    return CanonicalOrder(
        channel=o.channel,
        external_id=o.external_id,
        currency=o.currency,
        version=o.version,
        updated_at=o.updated_at,
        placed_at=o.placed_at,
        buyer_name=o.buyer.name,
        buyer_ref=o.buyer.ref,
        ship_to=Address(**o.ship_to.model_dump()),
        requested_ship_date=o.requested_ship_date,
        cancel_after=o.cancel_after,
        priority=o.priority,
        fulfilment=o.fulfilment,
        pickup_location=o.pickup_location,
        lines=tuple(
            CanonicalLine(
                item=ln.item,
                qty=ln.qty,
                unit_price_minor=ln.unit_price_minor,
                item_kind=ln.item_kind,
                item_ids=dict(ln.item_ids),
                description=ln.description,
            )
            for ln in o.lines
        ),
    )


@dataclass
class ImportResult:
    document_id: int
    state: str
    duplicate: bool = False
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    conflicts: int = 0
    unknown_items: int = 0
    problems: list[DocumentProblem] = field(default_factory=list)


def import_jsonl(store: Store, path: Path, *, actor: str = "import") -> ImportResult:
    try:
        payload = path.read_bytes()
    except OSError as exc:
        raise SourceError(f"cannot read {path}: {exc.strerror or exc}") from exc
    return import_jsonl_bytes(store, payload, source=str(path), actor=actor)


def import_jsonl_bytes(store: Store, payload: bytes, *, source: str, actor: str = "import") -> ImportResult:
    doc = store_payload(store, payload, kind="jsonl", source=source, actor=actor)
    if not doc.new and doc.state in FINAL_STATES:
        return ImportResult(doc.id, doc.state, duplicate=True)

    problems: list[DocumentProblem] = []
    parsed: list[tuple[int, CanonicalOrder]] = []
    for number, raw in enumerate(payload.split(b"\n"), 1):
        if not raw.strip():
            continue
        excerpt = raw[:200].decode("utf-8", "replace")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            problems.append(DocumentProblem(number, f"not UTF-8 text (byte {exc.start + 1})", excerpt))
            continue
        try:
            parsed.append((number, parse_line(text)))
        except ValueError as exc:
            problems.append(DocumentProblem(number, str(exc), excerpt))

    report = ingest(store, [o for _, o in parsed], actor=actor, document_id=doc.id)
    result = ImportResult(
        doc.id,
        "received",
        created=report.count("created"),
        updated=report.count("updated"),
        unchanged=report.count("unchanged"),
        conflicts=report.count("conflict"),
        unknown_items=report.unknown_items,
    )
    for outcome in report.rejected:
        problems.append(DocumentProblem(parsed[outcome.index][0], outcome.reason or "rejected", None))
    problems.sort(key=lambda p: p.position or 0)
    accepted = len(parsed) - len(report.rejected)
    result.state = finish(store, doc.id, problems=problems, accepted=accepted, actor=actor)
    result.problems = problems
    return result
