"""The raw-driver baseline for bench/intake.py: what `store.ingest` does for new orders,
written straight against sqlite3 and psycopg 3 (pipeline mode).

Per batch, in one transaction, exactly as intake does for orders it has not seen:
existence look-up of (channel, external id); SKU resolution (codes, then aliases); stock
prefetch; the channel's locations; one conditional UPDATE per line of a positive quantity to
reserve it at the first location with enough stock; then orders, order_lines (ids fetched
back), reservations or backorders, one audit event and one outbox row per order, with the
same column values (a line of quantity 0 reserves and backorders nothing, as in intake).
Channels are looked up once per call, as `ingest` does.

The baseline covers new orders only (the bench input has no repeats) and raises otherwise.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from store import CanonicalLine, CanonicalOrder

__all__ = ["raw_sqlite", "raw_postgresql"]

_UTC = dt.timezone.utc

ORDER_COLS = (
    "channel_id", "external_id", "partner_id", "status", "exception", "exception_detail", "document_id",
    "received_at", "updated_at", "version", "buyer_name", "buyer_ref", "ship_to_name", "ship_to_address1",
    "ship_to_address2", "ship_to_city", "ship_to_region", "ship_to_postal_code", "ship_to_country", "currency",
    "total_minor", "priority", "placed_at", "requested_ship_date", "cancel_after",
)
LINE_COLS = (
    "order_id", "line_no", "sku_id", "item", "item_kind", "item_ids", "description", "line_ref", "uom", "qty",
    "unit_price_minor", "qty_reserved", "qty_backordered", "qty_shipped", "qty_cancelled",
)
RESERVATION_COLS = ("line_id", "sku_id", "location_id", "qty", "state", "created_at")
BACKORDER_COLS = ("line_id", "sku_id", "qty", "state", "created_at")
AUDIT_COLS = ("at", "actor", "entity", "entity_id", "action", "detail")
OUTBOX_COLS = ("kind", "target", "idempotency_key", "payload", "order_id", "state", "attempts", "next_attempt_at",
               "created_at")
# What `_write_tail` inserts, in its order.
_TAIL = (("reservations", RESERVATION_COLS), ("backorders", BACKORDER_COLS), ("audit_events", AUDIT_COLS),
         ("outbox", OUTBOX_COLS))


def _insert_sql(table: str, cols: Sequence[str], ph: str, returning: bool = False) -> str:
    sql = f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join([ph] * len(cols))})"
    return sql + " RETURNING id" if returning else sql


def _chunks(seq: Sequence[Any], n: int) -> Iterable[Sequence[Any]]:
    for i in range(0, len(seq), n):
        yield seq[i : i + n]


@dataclass(frozen=True, slots=True)
class _Channel:
    id: int
    code: str
    partner_id: int | None


@dataclass(slots=True)
class _Line:
    no: int
    line: CanonicalLine
    sku: int | None
    loc: int | None = None

    @property
    def backordered(self) -> bool:
        return self.sku is not None and self.loc is None and self.line.qty > 0


class _Rows:
    """Row values, converted the way SQLAlchemy binds them for the dialect."""

    def __init__(self, ts: Callable[[dt.datetime | None], Any], js: Callable[[Any], Any],
                 day: Callable[[dt.date | None], Any]) -> None:
        self.ts, self.js, self.day = ts, js, day

    @staticmethod
    def resolve(codes: dict[str, int], aliases: dict[tuple[int | None, str, str], int], ch: int,
                line: CanonicalLine) -> int | None:
        for kind, value in line.identifiers():
            if kind in ("sku", "vendor_part") and value in codes:
                return codes[value]
            hit = aliases.get((ch, kind, value)) or aliases.get((None, kind, value))
            if hit is not None:
                return hit
        return None

    @staticmethod
    def status(plan: list[_Line]) -> str:
        if any(p.sku is None for p in plan):
            return "received"
        return "allocated" if all(p.loc is not None or p.line.qty == 0 for p in plan) else "backordered"

    @staticmethod
    def unknown(plan: list[_Line]) -> tuple[str | None, str | None]:
        bad = [p for p in plan if p.sku is None]
        if not bad:
            return None, None
        text = "; ".join(f"line {p.no}: {p.line.item_kind} {p.line.item!r} matches no SKU or alias" for p in bad)
        return "unknown_item", text[:2000]

    def order(self, o: CanonicalOrder, ch: _Channel, plan: list[_Line], now: dt.datetime) -> tuple[Any, ...]:
        st, exc = o.ship_to, self.unknown(plan)
        return (
            ch.id, o.external_id, ch.partner_id, self.status(plan), exc[0], exc[1], None, self.ts(now), self.ts(now),
            o.effective_version(), o.buyer_name, o.buyer_ref, st.name, st.address1, st.address2, st.city, st.region,
            st.postal_code, st.country, o.currency, sum(ln.qty * ln.unit_price_minor for ln in o.lines), o.priority,
            self.ts(o.placed_at), self.day(o.requested_ship_date), self.day(o.cancel_after),
        )

    def line(self, oid: int, p: _Line) -> tuple[Any, ...]:
        ln = p.line
        return (
            oid, p.no, p.sku, ln.item, ln.item_kind, self.js(dict(ln.identifiers())), ln.description, ln.line_ref,
            ln.uom, ln.qty, ln.unit_price_minor, ln.qty if p.loc is not None else 0, ln.qty if p.backordered else 0,
            0, 0,
        )

    def audit(self, oid: int, o: CanonicalOrder, plan: list[_Line], now: dt.datetime) -> tuple[Any, ...]:
        status = self.status(plan)
        detail: dict[str, Any] = {"external_id": o.external_id, "version": o.effective_version(), "status": status}
        detail["reserved"] = [[p.no, p.loc, p.line.qty] for p in plan if p.loc is not None]
        detail["backordered"] = [p.no for p in plan if p.sku is not None and p.loc is None]
        exc = self.unknown(plan)[0]
        if exc:
            detail["exception"] = exc
        return (self.ts(now), "intake", "order", oid, "order.received", self.js(detail))

    def outbox(self, oid: int, o: CanonicalOrder, ch: _Channel, plan: list[_Line], now: dt.datetime) -> tuple[Any, ...]:
        payload = {"order_id": oid, "external_id": o.external_id, "status": self.status(plan)}
        return ("order_ack", ch.code, f"order_ack:{oid}", self.js(payload), oid, "pending", 0, self.ts(now),
                self.ts(now))


def _write_tail(cur: Any, sql: Sequence[str], rows: _Rows, ch: _Channel, batch: Sequence[CanonicalOrder],
                plans: list[list[_Line]], order_ids: Sequence[int], line_ids: Sequence[int], now: dt.datetime) -> None:
    """Reservations or backorders, audit events and outbox rows: everything after the lines.
    `cur` is an sqlite3 connection or a psycopg cursor (both have `executemany`)."""
    ins_res, ins_back, ins_audit, ins_outbox = sql
    flat = [p for plan in plans for p in plan]
    reservations = [(lid, p.sku, p.loc, p.line.qty, "active", rows.ts(now)) for lid, p in zip(line_ids, flat)
                    if p.loc is not None]
    backorders = [(lid, p.sku, p.line.qty, "open", rows.ts(now)) for lid, p in zip(line_ids, flat) if p.backordered]
    if reservations:
        cur.executemany(ins_res, reservations)
    if backorders:
        cur.executemany(ins_back, backorders)
    cur.executemany(ins_audit, [rows.audit(oid, o, plan, now) for oid, o, plan in zip(order_ids, batch, plans)])
    cur.executemany(ins_outbox, [rows.outbox(oid, o, ch, plan, now) for oid, o, plan in zip(order_ids, batch, plans)])


def _reservable(plans: list[list[_Line]]) -> list[_Line]:
    """Lines to reserve, as intake picks them: none of an order with an unknown item, none of quantity 0."""
    return [p for plan in plans if all(p.sku is not None for p in plan) for p in plan if p.line.qty > 0]


def _pick(avail: dict[tuple[int, int], int], locs: list[int], p: _Line, tried: set[int]) -> int | None:
    for loc in locs:
        if loc not in tried and avail.get((p.sku, loc), 0) >= p.line.qty:  # type: ignore[arg-type]
            return loc
    return None


def _place(avail: dict[tuple[int, int], int], locs: list[int], p: _Line, tried: set[int],
           reserve: Callable[[_Line, int], bool]) -> None:
    """Try `p` at each location the prefetch says can fill it, in order, until one UPDATE takes it."""
    while (loc := _pick(avail, locs, p, tried)) is not None:
        tried.add(loc)
        if reserve(p, loc):
            avail[(p.sku, loc)] -= p.line.qty  # type: ignore[index]
            p.loc = loc
            return
        avail[(p.sku, loc)] = 0  # type: ignore[index]


def _plan(rows: _Rows, batch: Sequence[CanonicalOrder], ch: _Channel, codes: dict[str, int],
          aliases: dict[tuple[int | None, str, str], int]) -> list[list[_Line]]:
    return [[_Line(n, ln, rows.resolve(codes, aliases, ch.id, ln)) for n, ln in enumerate(o.lines, 1)] for o in batch]


def _lookup_values(batch: Sequence[CanonicalOrder]) -> list[str]:
    return sorted({v for o in batch for ln in o.lines for _, v in ln.identifiers()})


def _batches(orders: Sequence[CanonicalOrder], size: int) -> Iterable[Sequence[CanonicalOrder]]:
    seen: set[tuple[str, str]] = set()
    for o in orders:
        key = (o.channel, o.external_id)
        if key in seen:
            raise ValueError("the raw baseline takes each order once")
        seen.add(key)
    return _chunks(orders, size)


# --- sqlite3 ------------------------------------------------------------------------------

_SQ_CHANNELS = (
    "SELECT c.id, c.code, tp.id FROM channels c LEFT OUTER JOIN trading_partners tp ON tp.channel_id = c.id "
    "WHERE c.code IN ({}) AND c.active = 1"
)
_SQ_EXISTING = (
    "SELECT id, channel_id, external_id, version, status, pending_version FROM orders "
    "WHERE channel_id = ? AND external_id IN ({})"
)
_SQ_SKUS = "SELECT id, code FROM skus WHERE code IN ({}) AND active = 1"
_SQ_ALIASES = (
    "SELECT sku_id, channel_id, kind, value FROM sku_aliases "
    "WHERE value IN ({}) AND (channel_id IN (?) OR channel_id IS NULL)"
)
_SQ_STOCK = "SELECT sku_id, location_id, on_hand - reserved - safety FROM stock_levels WHERE sku_id IN ({})"
_LOCS_LINKED = (
    "SELECT id FROM locations WHERE active AND id IN "
    "(SELECT location_id FROM channel_locations WHERE channel_id = {ph}) ORDER BY priority, id"
)
_LOCS_ALL = "SELECT id FROM locations WHERE active ORDER BY priority, id"
_RESERVE = (
    "UPDATE stock_levels SET reserved = reserved + {ph} "
    "WHERE sku_id = {ph} AND location_id = {ph} AND on_hand - reserved - safety >= {ph}"
)


def _qs(n: int) -> str:
    return ", ".join("?" * n)


def _sqlite_rows() -> _Rows:
    def ts(v: dt.datetime | None) -> str | None:
        # SQLAlchemy's SQLite DateTime text form, of the UTC value (store.types.UTCDateTime).
        return None if v is None else v.astimezone(_UTC).strftime("%Y-%m-%d %H:%M:%S.%f")

    def day(v: dt.date | None) -> str | None:
        return None if v is None else v.isoformat()

    return _Rows(ts, json.dumps, day)


def raw_sqlite(path: str, orders: Sequence[CanonicalOrder], batch_size: int) -> float:
    """Take `orders` with sqlite3; returns the seconds taken (connection set-up excluded)."""
    db = sqlite3.connect(path, isolation_level=None)
    for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "busy_timeout=60000", "foreign_keys=ON"):
        db.execute(f"PRAGMA {pragma}")
    rows = _sqlite_rows()
    ins_order = _insert_sql("orders", ORDER_COLS, "?")
    ins_line = _insert_sql("order_lines", LINE_COLS, "?")
    tail = tuple(_insert_sql(t, c, "?") for t, c in _TAIL)
    reserve_sql = _RESERVE.format(ph="?")

    def reserve(p: _Line, loc: int) -> bool:
        return bool(db.execute(reserve_sql, (p.line.qty, p.sku, loc, p.line.qty)).rowcount == 1)

    try:
        t0 = time.perf_counter()
        codes_wanted = sorted({o.channel for o in orders})
        db.execute("BEGIN")
        channels = {
            code: _Channel(cid, code, pid)
            for cid, code, pid in db.execute(_SQ_CHANNELS.format(_qs(len(codes_wanted))), codes_wanted)
        }
        db.execute("COMMIT")
        for batch in _batches(orders, batch_size):
            if len({o.channel for o in batch}) != 1:
                raise ValueError("the raw baseline takes one channel")
            ch = channels[batch[0].channel]
            now = dt.datetime.now(_UTC)
            db.execute("BEGIN IMMEDIATE")
            try:
                ext = [o.external_id for o in batch]
                if db.execute(_SQ_EXISTING.format(_qs(len(ext))), [ch.id, *ext]).fetchall():
                    raise ValueError("the raw baseline takes new orders only")
                codes: dict[str, int] = {}
                aliases: dict[tuple[int | None, str, str], int] = {}
                for chunk in _chunks(_lookup_values(batch), 900):
                    codes.update((code, sid) for sid, code in db.execute(_SQ_SKUS.format(_qs(len(chunk))), chunk))
                    for sid, c, kind, value in db.execute(_SQ_ALIASES.format(_qs(len(chunk))), [*chunk, ch.id]):
                        aliases[(c, kind, value)] = sid
                plans = _plan(rows, batch, ch, codes, aliases)
                avail: dict[tuple[int, int], int] = {}
                for chunk in _chunks(sorted({p.sku for plan in plans for p in plan if p.sku is not None}), 900):
                    for sid, loc, a in db.execute(_SQ_STOCK.format(_qs(len(chunk))), chunk):
                        avail[(sid, loc)] = a
                locs = [r[0] for r in db.execute(_LOCS_LINKED.format(ph="?"), (ch.id,))]
                if not locs:
                    locs = [r[0] for r in db.execute(_LOCS_ALL)]
                for p in _reservable(plans):
                    _place(avail, locs, p, set(), reserve)
                order_ids = _sqlite_insert_ids(db, ins_order, [rows.order(o, ch, plan, now) for o, plan in zip(batch, plans)])
                flat = [(oid, p) for oid, plan in zip(order_ids, plans) for p in plan]
                line_ids = _sqlite_insert_ids(db, ins_line, [rows.line(oid, p) for oid, p in flat])
                _write_tail(db, tail, rows, ch, batch, plans, order_ids, line_ids, now)
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        return time.perf_counter() - t0
    finally:
        db.close()


def _sqlite_insert_ids(db: sqlite3.Connection, sql: str, params: list[tuple[Any, ...]]) -> range:
    """executemany, then the ids it assigned.

    Rowid tables without AUTOINCREMENT give each new row max(rowid) + 1; we hold the write
    lock (BEGIN IMMEDIATE), so the rows just inserted have consecutive ids ending at
    last_insert_rowid().
    """
    db.executemany(sql, params)
    last = db.execute("SELECT last_insert_rowid()").fetchone()[0]
    return range(last - len(params) + 1, last + 1)


# --- psycopg 3, pipeline mode -------------------------------------------------------------

_PG_CHANNELS = (
    "SELECT c.id, c.code, tp.id FROM channels c LEFT OUTER JOIN trading_partners tp ON tp.channel_id = c.id "
    "WHERE c.code = ANY(%s) AND c.active"
)
_PG_EXISTING = (
    "SELECT id, channel_id, external_id, version, status, pending_version FROM orders "
    "WHERE channel_id = %s AND external_id = ANY(%s)"
)
_PG_SKUS = "SELECT id, code FROM skus WHERE code = ANY(%s) AND active"
_PG_ALIASES = (
    "SELECT sku_id, channel_id, kind, value FROM sku_aliases "
    "WHERE value = ANY(%s) AND (channel_id = ANY(%s) OR channel_id IS NULL)"
)
_PG_STOCK = "SELECT sku_id, location_id, on_hand - reserved - safety FROM stock_levels WHERE sku_id = ANY(%s)"


def _pg_rows() -> _Rows:
    from psycopg.types.json import Jsonb

    return _Rows(lambda v: v, Jsonb, lambda v: v)


def raw_postgresql(schema: Any, orders: Sequence[CanonicalOrder], batch_size: int) -> float:
    """Take `orders` with psycopg in pipeline mode; returns the seconds taken (connect excluded).

    `schema` is a bench `PgSchema` (its `connect()` sets search_path).
    """
    conn = schema.connect()
    rows = _pg_rows()
    ins_order = _insert_sql("orders", ORDER_COLS, "%s", returning=True)
    ins_line = _insert_sql("order_lines", LINE_COLS, "%s", returning=True)
    tail = tuple(_insert_sql(t, c, "%s") for t, c in _TAIL)
    reserve_sql = _RESERVE.format(ph="%s")
    try:
        t0 = time.perf_counter()
        with conn.transaction():
            channels = {
                code: _Channel(cid, code, pid)
                for cid, code, pid in conn.execute(_PG_CHANNELS, (sorted({o.channel for o in orders}),))
            }
        with conn.pipeline() as pipeline:
            for batch in _batches(orders, batch_size):
                if len({o.channel for o in batch}) != 1:
                    raise ValueError("the raw baseline takes one channel")
                with conn.transaction():
                    _pg_batch(conn, pipeline, rows, channels[batch[0].channel], batch, reserve_sql,
                              (ins_order, ins_line), tail)
        return time.perf_counter() - t0
    finally:
        conn.close()


def _pg_batch(conn: Any, pipeline: Any, rows: _Rows, ch: _Channel, batch: Sequence[CanonicalOrder], reserve_sql: str,
              sql: tuple[str, str], tail: Sequence[str]) -> None:
    ins_order, ins_line = sql
    now = dt.datetime.now(_UTC)
    # Round trip 1: existence, SKU codes, aliases and the channel's locations, queued together.
    c_exist, c_locs, c_all = conn.cursor(), conn.cursor(), conn.cursor()
    c_exist.execute(_PG_EXISTING, (ch.id, [o.external_id for o in batch]))
    lookups = []
    for chunk in _chunks(_lookup_values(batch), 900):
        cs, ca = conn.cursor(), conn.cursor()
        cs.execute(_PG_SKUS, (list(chunk),))
        ca.execute(_PG_ALIASES, (list(chunk), [ch.id]))
        lookups.append((cs, ca))
    c_locs.execute(_LOCS_LINKED.format(ph="%s"), (ch.id,))
    c_all.execute(_LOCS_ALL)
    if c_exist.fetchall():
        raise ValueError("the raw baseline takes new orders only")
    codes: dict[str, int] = {}
    aliases: dict[tuple[int | None, str, str], int] = {}
    for cs, ca in lookups:
        codes.update((code, sid) for sid, code in cs.fetchall())
        for sid, c, kind, value in ca.fetchall():
            aliases[(c, kind, value)] = sid
    locs = [r[0] for r in c_locs.fetchall()] or [r[0] for r in c_all.fetchall()]
    plans = _plan(rows, batch, ch, codes, aliases)

    # Round trip 2: stock prefetch.
    avail: dict[tuple[int, int], int] = {}
    stock = []
    for chunk in _chunks(sorted({p.sku for plan in plans for p in plan if p.sku is not None}), 900):
        cur = conn.cursor()
        cur.execute(_PG_STOCK, (list(chunk),))
        stock.append(cur)
    for cur in stock:
        for sid, loc, a in cur.fetchall():
            avail[(sid, loc)] = a

    # Round trip 3: one conditional UPDATE per line, all queued; where one finds less stock
    # than the prefetch promised, that line tries its next locations one at a time.
    todo: list[tuple[_Line, int]] = []
    for p in _reservable(plans):
        loc = _pick(avail, locs, p, set())
        if loc is not None:
            avail[(p.sku, loc)] -= p.line.qty  # type: ignore[index]
            todo.append((p, loc))
    if todo:
        cur = conn.cursor()
        cur.executemany(reserve_sql, [(p.line.qty, p.sku, loc, p.line.qty) for p, loc in todo], returning=True)
        missed = []
        for (p, loc), _ in zip(todo, cur.results()):
            if cur.rowcount == 1:
                p.loc = loc
            else:
                avail[(p.sku, loc)] = 0  # type: ignore[index]
                missed.append((p, loc))
        for p, loc in missed:
            _retry(conn, pipeline, reserve_sql, avail, locs, p, loc)

    # Round trips 4 and 5: orders and lines, ids back; the rest goes with the COMMIT.
    cur = conn.cursor()
    cur.executemany(ins_order, [rows.order(o, ch, plan, now) for o, plan in zip(batch, plans)], returning=True)
    order_ids = [cur.fetchone()[0] for _ in cur.results()]
    flat = [(oid, p) for oid, plan in zip(order_ids, plans) for p in plan]
    cur.executemany(ins_line, [rows.line(oid, p) for oid, p in flat], returning=True)
    line_ids = [cur.fetchone()[0] for _ in cur.results()]
    _write_tail(cur, tail, rows, ch, batch, plans, order_ids, line_ids, now)


def _retry(conn: Any, pipeline: Any, reserve_sql: str, avail: dict[tuple[int, int], int], locs: list[int],
           p: _Line, failed: int) -> None:
    def reserve(p: _Line, loc: int) -> bool:
        cur = conn.execute(reserve_sql, (p.line.qty, p.sku, loc, p.line.qty))
        pipeline.sync()  # rowcount is known once the server has answered
        return bool(cur.rowcount == 1)

    _place(avail, locs, p, {failed}, reserve)
