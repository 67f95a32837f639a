"""Mapping an unknown item: the name a channel gave a line becomes an alias of one of our SKUs.

    unknown_lines(conn, order_id)                        -> [UnknownLine] (what the queue shows)
    map_unknown_item(store, order_id, 2, "S1", actor=)   -> MappedItem

An order waits in the `unknown_item` queue while a line's identifier matches no SKU or alias.
The operator says which SKU the line means; in one transaction the alias is added for the
order's channel (an EDI partner has a channel of its own, so the alias is the partner's), of
the kind the line used (`channel_item_id`, `buyer_part`, `upc`, ...; a channel sending its own
SKU codes gets a `sku` alias on that channel only), and the order's lines are resolved again
(store.intake.reprocess_unknown_items): once every item is known it is routed and leaves the
queue. Later orders naming the item the same way resolve on intake. Audited `sku.alias_added`.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, insert, select
from sqlalchemy.exc import IntegrityError

from .canonical import CanonicalLine
from .db import Store
from .errors import ConflictError, NotFound, StoreError
from .intake import reprocess_unknown_items_in
from .journal import audit
from .models import ALIAS_KINDS, Channel, Order, OrderLine, Sku, SkuAlias
from .orders import _load

__all__ = ["UnknownLine", "MappedItem", "unknown_lines", "map_unknown_item"]


@dataclass(frozen=True, slots=True)
class UnknownLine:
    line_no: int
    kind: str  # the alias kind a mapping adds
    value: str  # the identifier as the channel sent it
    description: str | None


@dataclass(frozen=True, slots=True)
class MappedItem:
    order_id: int
    line_no: int
    sku: str
    kind: str
    value: str
    channel: str
    status: str  # the order's afterwards
    resolved: bool  # every item of the order is known now: it left the unknown_item queue


def _identifier(item: str, item_kind: str, item_ids: dict[str, str]) -> tuple[str, str]:
    """The identifier an alias for this line keys on: the first the resolver tries that is not
    our own SKU code, else the code itself (a `sku` alias, scoped to the channel)."""
    ids = CanonicalLine(item=item, qty=0, unit_price_minor=0, item_kind=item_kind, item_ids=item_ids).identifiers()
    for kind, value in ids:
        if kind != "sku" and kind in ALIAS_KINDS:
            return kind, value
    return ids[0] if ids else (item_kind, item)


def unknown_lines(conn: Connection, order_id: int) -> list[UnknownLine]:
    rows = conn.execute(
        select(OrderLine.line_no, OrderLine.item, OrderLine.item_kind, OrderLine.item_ids, OrderLine.description)
        .where(OrderLine.order_id == order_id, OrderLine.sku_id.is_(None)).order_by(OrderLine.line_no)
    ).all()
    return [UnknownLine(r.line_no, *_identifier(r.item, r.item_kind, dict(r.item_ids or {})), r.description)
            for r in rows]


def map_unknown_item(store: Store, order_id: int, line_no: int, sku: str, *, actor: str = "operator") -> MappedItem:
    """Say that line `line_no` of the order means our SKU `sku` (its code); see the module docstring."""
    sku = sku.strip()

    def _do(conn: Connection) -> MappedItem:
        order = _load(conn, order_id)
        found = [u for u in unknown_lines(conn, order_id) if u.line_no == line_no]
        if not found:
            raise StoreError(f"order {order.external_id} line {line_no} has no unknown item")
        line = found[0]
        sku_row = conn.execute(select(Sku.id, Sku.active).where(Sku.code == sku)).first()
        if sku_row is None:
            raise NotFound(f"no SKU {sku!r}")
        if not sku_row.active:
            raise StoreError(f"SKU {sku} is not active")
        channel = conn.execute(select(Channel.code).join(Order, Order.channel_id == Channel.id)
                               .where(Order.id == order_id)).scalar_one()
        existing = conn.execute(select(SkuAlias.sku_id).where(
            SkuAlias.channel_id == order.channel_id, SkuAlias.kind == line.kind, SkuAlias.value == line.value)
        ).scalar_one_or_none()
        if existing is not None and existing != sku_row.id:
            other = conn.execute(select(Sku.code).where(Sku.id == existing)).scalar_one()
            raise StoreError(f"{line.kind} {line.value!r} on {channel} already means {other}")
        if existing is None:
            try:
                with conn.begin_nested():  # another operator may map the same identifier at once
                    conn.execute(insert(SkuAlias).values(sku_id=sku_row.id, channel_id=order.channel_id,
                                                         kind=line.kind, value=line.value))
            except IntegrityError:
                raise ConflictError(f"{line.kind} {line.value!r} on {channel} was mapped by someone else just now; "
                                    "look at the order again") from None
            audit(conn, actor, "sku", sku_row.id, "sku.alias_added",
                  {"kind": line.kind, "value": line.value, "channel": channel, "order_id": order_id,
                   "line_no": line_no})
        status = reprocess_unknown_items_in(conn, order_id, actor=actor)
        left = conn.execute(select(Order.exception).where(Order.id == order_id)).scalar_one()
        return MappedItem(order_id, line_no, sku, line.kind, line.value, channel, status, left != "unknown_item")

    return store.run(_do)
