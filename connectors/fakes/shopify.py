"""A fake Shopify store behind the Admin GraphQL API (2026-07), for tests, `oms demo` and benches.

    shop = FakeShopify(clock=Clock(start), rate=100, burst=1000).start()
    oid = shop.add_order({"S1": 2, "S2": 1})           # "1000000001"; stamps from the fake clock
    shop.touch(oid, note="gift")                       # changes at the channel (cancel=True cancels)
    shop.set_listing("S1", qty=5)                      # a variant + inventory item stocked at the location
    headers, body = shop.webhook(oid, "orders/updated")

What it does like the real one (../shared/reference/marketplaces REPORT §1, §12):
  - `POST /admin/api/2026-07/graphql.json` with `X-Shopify-Access-Token` (else 401, REST-shaped);
    queries and mutations are parsed (a small GraphQL reader: fields, arguments, variables,
    inline fragments, directives) and answered with exactly the fields asked for;
  - calculated query cost: an object costs 1, a connection 2 + first x its node, a mutation 10;
    over 1000 is refused (MAX_COST_EXCEEDED); the requested cost is taken from a leaky bucket
    on the fake clock before the query runs and the unused part refunded; when the bucket is
    short the answer is HTTP 200 with errors[0].extensions.code THROTTLED; every answer has
    extensions.cost with throttleStatus;
  - orders(first<=250, after, sortKey: UPDATED_AT, query: "updated_at:>='..' AND ..") paged by an
    opaque keyset cursor over (updated_at, id), so an order changed mid-read moves behind the
    cursor and is read again, never skipped; unknown search fields are ignored with a warning;
  - fulfillment orders, `fulfillmentCreate` (userErrors once nothing remains);
  - `inventorySetQuantities` only with `@idempotent(key:)` (the 2026-04 rule): the same key
    with the same input answers the first result again without applying it twice, with other
    input IDEMPOTENCY_KEY_PARAMETER_MISMATCH; changeFromQuantity must be sent (null opts out)
    and a stale one fails the whole mutation (CHANGE_FROM_QUANTITY_STALE);
  - webhooks: REST-shaped order bodies signed base64(HMAC-SHA256(secret, body)).
Timestamps are whole seconds like Shopify's; a change always moves an order's updatedAt on by
at least a second so a test can tell its versions apart.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import itertools
import json
import re
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from .server import Clock, FakeApi, Request, Response, Route, ServerBucket, json_response

__all__ = ["FakeShopify", "FakeOrder", "FakeLine", "FakeFulfillment", "FakeListing", "API_VERSION", "MAX_COST"]

API_VERSION = "2026-07"
MAX_COST = 1000
_MAX_PAGE = 250
_MUTATION_COST = 10
_REASONS = frozenset({"correction", "cycle_count_available", "damaged", "movement_created", "other", "received",
                      "restock", "safety_stock", "shrinkage"})


# -- a small GraphQL reader ---------------------------------------------------------------------

class GraphQLError(Exception):
    def __init__(self, message: str, code: str | None = None, **extra: Any) -> None:
        super().__init__(message)
        self.code, self.extra = code, extra

    def as_json(self) -> dict[str, Any]:
        ext = {"code": self.code, **self.extra} if self.code else dict(self.extra)
        return {"message": str(self), **({"extensions": ext} if ext else {})}


@dataclass
class Field:
    name: str
    alias: str | None = None
    args: dict[str, Any] = field(default_factory=dict)
    directives: dict[str, dict[str, Any]] = field(default_factory=dict)
    selections: list[Field | Fragment] = field(default_factory=list)

    @property
    def key(self) -> str:
        return self.alias or self.name


@dataclass
class Fragment:
    type_name: str | None
    selections: list[Field | Fragment]


_TOKEN = re.compile(r"""(?P<skip>[\s,\ufeff]+|\#[^\n]*)|(?P<spread>\.\.\.)|(?P<punct>[!$():=@\[\]{}])
    |(?P<name>[_A-Za-z][_0-9A-Za-z]*)|(?P<number>-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)|(?P<string>"(?:[^"\\\n]|\\.)*")""",
                    re.X)


class _Reader:
    def __init__(self, text: str, variables: Mapping[str, Any]) -> None:
        self.tokens: list[tuple[str, str]] = []
        pos = 0
        while pos < len(text):
            m = _TOKEN.match(text, pos)
            if m is None:
                raise GraphQLError(f"Parse error on {text[pos:pos + 10]!r} at offset {pos}")
            kind = m.lastgroup or ""
            if kind != "skip":
                self.tokens.append((kind, m.group()))
            pos = m.end()
        self.i = 0
        self.variables = dict(variables)
        self.declared: set[str] = set()

    def peek(self, value: str | None = None) -> bool:
        return self.i < len(self.tokens) and (value is None or self.tokens[self.i][1] == value)

    def take(self, value: str | None = None, kind: str | None = None) -> str:
        if self.i >= len(self.tokens):
            raise GraphQLError(f"Parse error: unexpected end of document, expected {value or kind}")
        k, v = self.tokens[self.i]
        if (value is not None and v != value) or (kind is not None and k != kind):
            raise GraphQLError(f"Parse error on \"{v}\" ({k.upper()}), expected {value or kind}")
        self.i += 1
        return v

    def document(self) -> tuple[str, list[Field | Fragment]]:
        op = "query"
        if self.peek("query") or self.peek("mutation") or self.peek("subscription"):
            op = self.take()
            if self.i < len(self.tokens) and self.tokens[self.i][0] == "name":
                self.take()
            if self.peek("("):
                self._variable_definitions()
            self._directives()
        sels = self.selection_set()
        if self.peek():
            raise GraphQLError("the fake reads one operation per document")
        return op, sels

    def _variable_definitions(self) -> None:
        self.take("(")
        while not self.peek(")"):
            self.take("$")
            name = self.take(kind="name")
            self.take(":")
            self._type()
            self.declared.add(name)
            if self.peek("="):
                self.take("=")
                default = self.value()
                self.variables.setdefault(name, default)
        self.take(")")

    def _type(self) -> None:
        if self.peek("["):
            self.take("[")
            self._type()
            self.take("]")
        else:
            self.take(kind="name")
        if self.peek("!"):
            self.take("!")

    def _directives(self) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        while self.peek("@"):
            self.take("@")
            name = self.take(kind="name")
            out[name] = self._arguments() if self.peek("(") else {}
        return out

    def _arguments(self) -> dict[str, Any]:
        self.take("(")
        args: dict[str, Any] = {}
        while not self.peek(")"):
            name = self.take(kind="name")
            self.take(":")
            args[name] = self.value()
        self.take(")")
        return args

    def selection_set(self) -> list[Field | Fragment]:
        self.take("{")
        sels: list[Field | Fragment] = []
        while not self.peek("}"):
            if self.peek("..."):
                self.take("...")
                type_name = None
                if self.peek("on"):
                    self.take("on")
                    type_name = self.take(kind="name")
                else:
                    raise GraphQLError("the fake reads inline fragments only (... on Type)")
                self._directives()
                sels.append(Fragment(type_name, self.selection_set()))
                continue
            name = self.take(kind="name")
            alias = None
            if self.peek(":"):
                self.take(":")
                alias, name = name, self.take(kind="name")
            f = Field(name, alias)
            if self.peek("("):
                f.args = self._arguments()
            f.directives = self._directives()
            if self.peek("{"):
                f.selections = self.selection_set()
            sels.append(f)
        self.take("}")
        return sels

    def value(self) -> Any:
        kind, v = self.tokens[self.i] if self.i < len(self.tokens) else ("", "")
        if v == "$":
            self.take("$")
            name = self.take(kind="name")
            if name not in self.declared:
                raise GraphQLError(f"Variable ${name} is used by the operation but not declared")
            return self.variables.get(name)
        if v == "[":
            self.take("[")
            items = []
            while not self.peek("]"):
                items.append(self.value())
            self.take("]")
            return items
        if v == "{":
            self.take("{")
            obj = {}
            while not self.peek("}"):
                k = self.take(kind="name")
                self.take(":")
                obj[k] = self.value()
            self.take("}")
            return obj
        self.take()
        if kind == "string":
            return json.loads(v)
        if kind == "number":
            return float(v) if any(c in v for c in ".eE") else int(v)
        if kind == "name":
            return {"true": True, "false": False, "null": None}.get(v, v)  # an enum stays its name
        raise GraphQLError(f"Parse error on \"{v}\", expected a value")


def parse(text: str, variables: Mapping[str, Any] | None = None) -> tuple[str, list[Field | Fragment]]:
    """(operation kind, root selections), with variables put in place."""
    return _Reader(text, variables or {}).document()


def requested_cost(op: str, sels: Sequence[Field | Fragment]) -> int:
    """Shopify's calculated cost, as documented: an object 1, a connection 2 + first x (its node),
    scalars nothing, a mutation 10."""
    if op == "mutation":
        return _MUTATION_COST * sum(1 for s in sels if isinstance(s, Field))
    return _cost(sels)


def _cost(sels: Sequence[Field | Fragment]) -> int:
    total = 0
    for s in sels:
        if isinstance(s, Fragment):
            total += _cost(s.selections)
        elif not s.selections:
            continue
        elif "first" in s.args or "last" in s.args:
            n = int(s.args.get("first") or s.args.get("last") or 0)
            names = {c.name: c for c in s.selections if isinstance(c, Field)}
            if "nodes" not in names and "edges" not in names:  # a plain list with first: (fulfillments)
                total += n * (1 + _cost(s.selections))
                continue
            node = 0
            if "nodes" in names:
                node = 1 + _cost(names["nodes"].selections)
            if "edges" in names:
                inner = [c for c in names["edges"].selections if isinstance(c, Field) and c.name == "node"]
                node = max(node, 1 + _cost(inner[0].selections) if inner else 0)
            total += 2 + n * node
        elif s.name == "pageInfo":
            continue
        elif "ids" in s.args:
            total += len(s.args["ids"] or ()) * (1 + _cost(s.selections))
        else:
            total += 1 + _cost(s.selections)
    return total


# -- the store's data -----------------------------------------------------------------------------

@dataclass
class FakeLine:
    id: int
    sku: str
    variant_id: int | None
    quantity: int
    price: Decimal
    title: str


@dataclass
class FakeFoLine:
    id: int
    line_id: int
    total: int
    remaining: int


@dataclass
class FakeFulfillmentOrder:
    id: int
    status: str  # OPEN | IN_PROGRESS | CLOSED | CANCELLED | ON_HOLD
    lines: list[FakeFoLine]


@dataclass
class FakeFulfillment:
    id: int
    created_at: dt.datetime
    company: str | None
    number: str | None
    url: str | None
    lines: list[tuple[int, int]]  # (line item id, quantity)
    notify_customer: bool = False


@dataclass
class FakeOrder:
    id: int
    name: str
    created_at: dt.datetime
    updated_at: dt.datetime
    currency: str
    lines: list[FakeLine]
    ship_to: dict[str, Any] | None
    note: str | None = None
    email: str | None = None
    cancelled_at: dt.datetime | None = None
    fulfillment_orders: list[FakeFulfillmentOrder] = field(default_factory=list)
    fulfillments: list[FakeFulfillment] = field(default_factory=list)


@dataclass
class FakeListing:
    sku: str
    variant_id: int
    inventory_item_id: int
    levels: dict[str, dict[str, int]]  # location gid -> {"available": n, "committed": n}
    price: Decimal = Decimal("10.00")


def gid(kind: str, n: int) -> str:
    return f"gid://shopify/{kind}/{n}"


def _gid_number(value: Any, kind: str | None = None) -> int | None:
    m = re.fullmatch(r"gid://shopify/(\w+)/(\d+)", str(value))
    if m is None or (kind is not None and m.group(1) != kind):
        return None
    return int(m.group(2))


def _iso(t: dt.datetime | None) -> str | None:
    return t.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ") if t is not None else None


def _amount(d: Decimal) -> str:
    """Shopify's Decimal scalar: "199.0", "19.99"."""
    text = format(d, "f")
    if "." not in text:
        return text + ".0"
    text = text.rstrip("0")
    return text + "0" if text.endswith(".") else text


def _money(d: Decimal, currency: str) -> dict[str, Any]:
    m = {"amount": _amount(d), "currencyCode": currency}
    return {"shopMoney": m, "presentmentMoney": dict(m)}


def _encode(data: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode()).decode()


def _decode(cursor: str) -> Any:
    try:
        return json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (ValueError, TypeError):
        raise GraphQLError(f"Invalid cursor for current pagination sort: {cursor!r}", "BAD_REQUEST") from None


# -- search syntax: updated_at:>='2024-01-01T00:00:00Z' AND id:1 OR id:2 -------------------------

_TERM = re.compile(r"""\s*(?:(?P<conj>AND|OR)\b|(?P<field>\w+):(?P<op>>=|<=|>|<|)(?P<value>'[^']*'|"(?:[^"\\]|\\.)*"|\S+))""")


def _search(query: str | None, fields: Mapping[str, Callable[[Any, str], bool]]) -> tuple[Callable[[Any], bool], list[str]]:
    """A predicate over the objects `fields` can test, and the fields it ignored (Shopify warns,
    it does not refuse)."""
    if not query:
        return (lambda _o: True), []
    alternatives: list[list[tuple[str, str, str]]] = [[]]
    ignored: list[str] = []
    pos = 0
    while pos < len(query.rstrip()):
        m = _TERM.match(query, pos)
        if m is None:
            raise GraphQLError(f"Invalid search query near {query[pos:pos + 20]!r}", "BAD_REQUEST")
        pos = m.end()
        if m.group("conj") == "OR":
            alternatives.append([])
        elif m.group("field"):
            value = m.group("value")
            if value[:1] in "'\"" and value[-1:] == value[:1]:
                value = value[1:-1].replace('\\"', '"')
            if m.group("field") not in fields:
                ignored.append(m.group("field"))
                continue
            alternatives[-1].append((m.group("field"), m.group("op"), value))

    def pred(obj: Any) -> bool:
        return any(all(fields[f](obj, op + "\0" + v) for f, op, v in alt) for alt in alternatives)

    return pred, ignored


def _compare(actual: Any, spec: str, convert: Callable[[str], Any]) -> bool:
    op, raw = spec.split("\0", 1)
    try:
        want = convert(raw)
    except ValueError:
        raise GraphQLError(f"Invalid search value {raw!r}", "BAD_REQUEST") from None
    return {"": actual == want, ">": actual > want, ">=": actual >= want, "<": actual < want,
            "<=": actual <= want}[op]


def _when(raw: str) -> dt.datetime:
    value = dt.datetime.fromisoformat(raw.replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)


# -- the fake ------------------------------------------------------------------------------------

class FakeShopify(FakeApi):
    def __init__(
        self, *, clock: Clock | None = None, access_token: str = "shpat_fake", webhook_secret: str = "whsec_fake",
        rate: float = 100.0, burst: float = MAX_COST, location_id: str = "gid://shopify/Location/905684977",
        shop: str = "example.myshopify.com", currency: str = "USD",
    ) -> None:
        super().__init__(clock=clock)
        self.access_token, self.webhook_secret = access_token, webhook_secret
        self.location_id, self.shop, self.currency = location_id, shop, currency
        self.bucket = ServerBucket(self.clock, rate=rate, burst=burst)
        self.orders: dict[str, FakeOrder] = {}
        self.listings: dict[str, FakeListing] = {}
        self.throttled = 0  # THROTTLED answers given
        self.operations: list[tuple[str, list[str]]] = []  # (query|mutation, root fields) per request served
        self.inventory_batches: list[int] = []  # quantities applied per inventorySetQuantities
        self._accepted: dict[str, list[tuple[dt.datetime, int]]] = {}
        self._idempotent: dict[str, tuple[str, Any]] = {}
        self._stalls: dict[str, list[float]] = {}
        self._ids = itertools.count(1_000_000_001)
        self._numbers = itertools.count(1001)

    def routes(self) -> Sequence[Route]:
        return [("POST", rf"/admin/api/{API_VERSION}/graphql\.json", self._graphql)]

    # -- the Python side, for tests and the demo -------------------------------------------------

    def _stamp(self, after: dt.datetime | None = None) -> dt.datetime:
        now = self.clock.now().astimezone(dt.timezone.utc).replace(microsecond=0)
        if after is not None and now <= after:
            now = after + dt.timedelta(seconds=1)
        return now

    def add_order(
        self, sku_qty: Mapping[str, int] | Sequence[tuple[str, int]], *, external_id: str | None = None,
        ship_to: Mapping[str, Any] | None = None, updated_at: dt.datetime | None = None, currency: str | None = None,
    ) -> str:
        """A new order (its id returned). An empty SKU makes a line without one (Shopify allows it).
        Ordered units leave `available` for `committed` like at Shopify."""
        items = list(sku_qty.items()) if isinstance(sku_qty, Mapping) else list(sku_qty)
        with self.lock:
            oid = int(external_id) if external_id is not None else next(self._ids)
            stamp = updated_at.astimezone(dt.timezone.utc).replace(microsecond=0) if updated_at else self._stamp()
            lines = []
            for n, (sku, qty) in enumerate(items):
                listing = self.listings.get(sku)
                variant = listing.variant_id if listing else next(self._ids)
                price = listing.price if listing else Decimal("10.00") + n
                lines.append(FakeLine(next(self._ids), sku, variant, int(qty), price, f"Item {sku or variant}"))
                level = listing.levels.get(self.location_id) if listing else None
                if level is not None:
                    level["available"] -= int(qty)
                    level["committed"] += int(qty)
            to = dict(ship_to) if ship_to is not None else {
                "name": "Bob Norman", "address1": "Chestnut Street 92", "address2": "", "city": "Louisville",
                "provinceCode": "KY", "zip": "40202", "countryCodeV2": "US", "phone": "555-625-1199"}
            fo = FakeFulfillmentOrder(next(self._ids), "OPEN",
                                      [FakeFoLine(next(self._ids), ln.id, ln.quantity, ln.quantity) for ln in lines])
            order = FakeOrder(oid, f"#{next(self._numbers)}", stamp, stamp, currency or self.currency, lines, to,
                              email="bob.norman@mail.example.com", fulfillment_orders=[fo])
            self.orders[str(oid)] = order
            return str(oid)

    def touch(self, order_id: str, **changes: Any) -> None:
        """The order changes at the channel: `note=`, `ship_to=`, `email=`, `cancel=True`."""
        with self.lock:
            o = self.orders[str(order_id)]
            o.updated_at = self._stamp(o.updated_at)
            if changes.pop("cancel", False) and o.cancelled_at is None:
                o.cancelled_at = o.updated_at
                for fo in o.fulfillment_orders:
                    if fo.status in ("OPEN", "IN_PROGRESS", "ON_HOLD"):
                        fo.status = "CLOSED"
            for key, value in changes.items():
                if not hasattr(o, key):
                    raise KeyError(f"a fake order has no {key!r}")
                setattr(o, key, value)

    def fulfillments(self, order_id: str) -> list[FakeFulfillment]:
        with self.lock:
            return list(self.orders[str(order_id)].fulfillments)

    def set_listing(self, sku: str, qty: int = 0, *, stocked: bool = True, price: str = "10.00") -> FakeListing:
        """A variant with `sku`, its inventory item stocked at the location with `qty` available
        (or stocked nowhere)."""
        with self.lock:
            listing = self.listings.get(sku)
            if listing is None:
                listing = FakeListing(sku, next(self._ids), next(self._ids), {}, Decimal(price))
                self.listings[sku] = listing
            if stocked:
                listing.levels[self.location_id] = {"available": qty, "committed": 0}
            return listing

    def quantity(self, sku: str) -> int | None:
        with self.lock:
            listing = self.listings.get(sku)
            level = listing.levels.get(self.location_id) if listing else None
            return level["available"] if level is not None else None

    def accepted_at(self, sku: str) -> list[tuple[dt.datetime, int]]:
        with self.lock:
            return list(self._accepted.get(sku, ()))

    def stall_operation(self, root_field: str, seconds: float, n: int = 1) -> None:
        """The next `n` requests naming `root_field` (e.g. fulfillmentCreate) are carried out,
        then answered `seconds` late: a timeout on that call and no other (every GraphQL call
        shares one path, so `stall_next` cannot pick one out)."""
        with self.lock:
            self._stalls.setdefault(root_field, []).extend([seconds] * n)

    def webhook(self, order_id: str, topic: str) -> tuple[dict[str, str], bytes]:
        """One delivery of `topic` for the order: REST-shaped body, signed headers, a new event id."""
        with self.lock:
            body = json.dumps(self._rest_order(self.orders[str(order_id)])).encode()
        digest = hmac.new(self.webhook_secret.encode(), body, hashlib.sha256).digest()
        headers = {
            "Content-Type": "application/json", "X-Shopify-Topic": topic,
            "X-Shopify-Hmac-Sha256": base64.b64encode(digest).decode(), "X-Shopify-Shop-Domain": self.shop,
            "X-Shopify-API-Version": API_VERSION, "X-Shopify-Webhook-Id": str(uuid.uuid4()),
            "X-Shopify-Event-Id": str(uuid.uuid4()),
            "X-Shopify-Triggered-At": self.clock.now().astimezone(dt.timezone.utc).isoformat(timespec="milliseconds"),
        }
        return headers, body

    # -- HTTP ----------------------------------------------------------------------------------------

    def _graphql(self, req: Request) -> Response:
        if not hmac.compare_digest(req.headers.get("x-shopify-access-token", ""), self.access_token):
            return json_response(
                {"errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"}, 401)
        headers = {"X-Shopify-API-Version": API_VERSION, "X-Request-Id": str(uuid.uuid4())}
        try:
            body = req.json()
            op, sels = parse(str(body["query"]), body.get("variables") or {})
        except (ValueError, KeyError, TypeError) as exc:
            return json_response({"errors": [{"message": f"Bad request: {exc}"}]}, 400, headers)
        except GraphQLError as exc:
            return json_response({"errors": [exc.as_json()]}, 200, headers)
        roots = [s.name for s in sels if isinstance(s, Field)]
        cost = requested_cost(op, sels)
        stall = 0.0
        with self.lock:
            self.operations.append((op, roots))
            if cost > MAX_COST:
                err = GraphQLError(
                    f"Query cost is {cost}, which exceeds the single query max cost limit ({MAX_COST}).",
                    "MAX_COST_EXCEEDED", cost=cost, maxCost=MAX_COST)
                return json_response({"errors": [err.as_json()], "extensions": self._cost(cost, None)}, 200, headers)
            if not self.bucket.try_take(cost):
                self.throttled += 1
                err = GraphQLError("Throttled", "THROTTLED", documentation="https://shopify.dev/api/usage/rate-limits")
                return json_response({"errors": [err.as_json()], "extensions": self._cost(cost, None)}, 200, headers)
            run = _Run(self)
            try:
                data = {s.key: run.root(op, s) for s in sels if isinstance(s, Field)}
                out: dict[str, Any] = {"data": data}
            except GraphQLError as exc:
                out = {"errors": [exc.as_json()]}
            actual = min(cost, run.cost) if op == "query" else cost
            self.bucket.refund(cost - actual)
            out["extensions"] = self._cost(cost, actual)
            if run.warnings:
                out["extensions"]["search"] = run.warnings
            for r in roots:
                if self._stalls.get(r):
                    stall = max(stall, self._stalls[r].pop(0))
        if stall:
            time.sleep(stall)
        return json_response(out, 200, headers)

    def _cost(self, requested: int, actual: int | None) -> dict[str, Any]:
        return {"cost": {"requestedQueryCost": requested, "actualQueryCost": actual, "throttleStatus": {
            "maximumAvailable": float(self.bucket.burst), "currentlyAvailable": int(self.bucket.available),
            "restoreRate": float(self.bucket.rate)}}}

    # -- objects as GraphQL sees them (dicts; a callable field takes its arguments) ----------------

    def _order_node(self, o: FakeOrder) -> dict[str, Any]:
        total = sum((ln.price * ln.quantity for ln in o.lines), Decimal(0))
        shipped = sum(q for f in o.fulfillments for _, q in f.lines)
        ordered = sum(ln.quantity for ln in o.lines)
        return {
            "__typename": "Order", "id": gid("Order", o.id), "legacyResourceId": str(o.id), "name": o.name,
            "createdAt": _iso(o.created_at), "processedAt": _iso(o.created_at), "updatedAt": _iso(o.updated_at),
            "cancelledAt": _iso(o.cancelled_at), "cancelReason": "CUSTOMER" if o.cancelled_at else None,
            "closed": False, "test": False, "currencyCode": o.currency, "email": o.email, "note": o.note,
            "displayFinancialStatus": "PAID",
            "displayFulfillmentStatus": "FULFILLED" if shipped >= ordered else ("PARTIALLY_FULFILLED" if shipped else "UNFULFILLED"),
            "totalPriceSet": _money(total, o.currency),
            "shippingAddress": ({"__typename": "MailingAddress", "name": None, "address1": None, "address2": None,
                                 "city": None, "provinceCode": None, "zip": None, "countryCodeV2": None,
                                 "phone": None, "latitude": None, "longitude": None, "company": None, **o.ship_to}
                                if o.ship_to is not None else None),
            "lineItems": lambda a: _connection([self._line_node(o, ln) for ln in o.lines], a),
            "fulfillmentOrders": lambda a: _connection([self._fo_node(o, fo) for fo in o.fulfillment_orders], a),
            "fulfillments": lambda a: [self._fulfillment_node(o, f) for f in o.fulfillments][:a.get("first") or None],
        }

    def _line_node(self, o: FakeOrder, ln: FakeLine) -> dict[str, Any]:
        listing = self.listings.get(ln.sku)
        variant = None if ln.variant_id is None else {
            "__typename": "ProductVariant", "id": gid("ProductVariant", ln.variant_id), "sku": ln.sku or None,
            "inventoryItem": {"__typename": "InventoryItem",
                              "id": gid("InventoryItem", listing.inventory_item_id if listing else ln.variant_id + 1)}}
        return {"__typename": "LineItem", "id": gid("LineItem", ln.id), "sku": ln.sku or None, "name": ln.title,
                "title": ln.title, "quantity": ln.quantity, "currentQuantity": ln.quantity,
                "originalUnitPriceSet": _money(ln.price, o.currency), "variant": variant}

    def _fo_node(self, o: FakeOrder, fo: FakeFulfillmentOrder) -> dict[str, Any]:
        lines = {ln.id: ln for ln in o.lines}
        return {"__typename": "FulfillmentOrder", "id": gid("FulfillmentOrder", fo.id), "status": fo.status,
                "lineItems": lambda a: _connection([
                    {"__typename": "FulfillmentOrderLineItem", "id": gid("FulfillmentOrderLineItem", x.id),
                     "totalQuantity": x.total, "remainingQuantity": x.remaining,
                     "lineItem": self._line_node(o, lines[x.line_id])} for x in fo.lines], a)}

    def _fulfillment_node(self, o: FakeOrder, f: FakeFulfillment) -> dict[str, Any]:
        return {"__typename": "Fulfillment", "id": gid("Fulfillment", f.id), "status": "SUCCESS",
                "createdAt": _iso(f.created_at),
                "trackingInfo": lambda a: [{"company": f.company, "number": f.number, "url": f.url}] if f.number else [],
                "fulfillmentLineItems": lambda a: _connection(
                    [{"id": gid("FulfillmentLineItem", lid * 7), "quantity": q,
                      "lineItem": {"id": gid("LineItem", lid)}} for lid, q in f.lines], a)}

    def _variant_node(self, listing: FakeListing) -> dict[str, Any]:
        return {"__typename": "ProductVariant", "id": gid("ProductVariant", listing.variant_id), "sku": listing.sku,
                "inventoryItem": self._item_node(listing)}

    def _item_node(self, listing: FakeListing) -> dict[str, Any]:
        def level(a: Mapping[str, Any]) -> dict[str, Any] | None:
            held = listing.levels.get(str(a.get("locationId")))
            if held is None:
                return None
            q = {"available": held["available"], "committed": held["committed"],
                 "on_hand": held["available"] + held["committed"]}
            return {"__typename": "InventoryLevel", "location": {"id": a.get("locationId")},
                    "quantities": lambda b: [{"name": n, "quantity": q.get(n, 0)} for n in b.get("names") or ()]}

        return {"__typename": "InventoryItem", "id": gid("InventoryItem", listing.inventory_item_id),
                "sku": listing.sku, "tracked": True, "inventoryLevel": level}

    def _node(self, ref: Any) -> dict[str, Any] | None:
        m = re.fullmatch(r"gid://shopify/(\w+)/(\d+)", str(ref))
        if m is None:
            raise GraphQLError(f"Invalid global id '{ref}'", "argumentLiteralsIncompatible")
        kind, n = m.group(1), int(m.group(2))
        if kind == "Order" and str(n) in self.orders:
            return self._order_node(self.orders[str(n)])
        for listing in self.listings.values():
            if kind == "InventoryItem" and listing.inventory_item_id == n:
                return self._item_node(listing)
            if kind == "ProductVariant" and listing.variant_id == n:
                return self._variant_node(listing)
        return None

    def _rest_order(self, o: FakeOrder) -> dict[str, Any]:
        to = o.ship_to or {}
        first, _, last = str(to.get("name") or "").partition(" ")
        return {
            "id": o.id, "admin_graphql_api_id": gid("Order", o.id), "name": o.name,
            "order_number": int(o.name.lstrip("#")), "email": o.email, "note": o.note,
            "created_at": o.created_at.astimezone(dt.timezone(dt.timedelta(hours=-5))).isoformat(),
            "updated_at": o.updated_at.astimezone(dt.timezone(dt.timedelta(hours=-5))).isoformat(),
            "cancelled_at": o.cancelled_at.isoformat() if o.cancelled_at else None, "currency": o.currency,
            "financial_status": "paid", "fulfillment_status": None, "test": False,
            "total_price": str(sum((ln.price * ln.quantity for ln in o.lines), Decimal(0))),
            "line_items": [{"id": ln.id, "admin_graphql_api_id": gid("LineItem", ln.id), "variant_id": ln.variant_id,
                            "sku": ln.sku, "title": ln.title, "quantity": ln.quantity, "current_quantity": ln.quantity,
                            "price": str(ln.price), "requires_shipping": True} for ln in o.lines],
            "shipping_address": {"first_name": first, "last_name": last, "name": to.get("name"),
                                 "address1": to.get("address1"), "address2": to.get("address2"),
                                 "city": to.get("city"), "province_code": to.get("provinceCode"),
                                 "zip": to.get("zip"), "country_code": to.get("countryCodeV2"), "phone": to.get("phone")},
        }

    # -- root fields -------------------------------------------------------------------------------

    def orders_connection(self, args: Mapping[str, Any], run: _Run) -> dict[str, Any]:
        first = _page_size(args)
        sort = args.get("sortKey") or "ID"
        if sort not in ("UPDATED_AT", "ID", "CREATED_AT"):
            raise GraphQLError(f"the fake sorts orders by UPDATED_AT, CREATED_AT or ID, not {sort}", "BAD_REQUEST")
        pred, ignored = _search(args.get("query"), {
            "updated_at": lambda o, s: _compare(o.updated_at, s, _when),
            "created_at": lambda o, s: _compare(o.created_at, s, _when),
            "id": lambda o, s: _compare(o.id, s, int),
        })
        if ignored:
            run.warnings.append({"path": ["orders"], "query": args.get("query"), "warnings": [
                {"field": f, "message": "Invalid search field for this query."} for f in ignored]})

        def key(o: FakeOrder) -> tuple[str, int]:
            stamp = {"UPDATED_AT": o.updated_at, "CREATED_AT": o.created_at, "ID": None}[sort]
            return (_iso(stamp) or "", o.id)

        items = sorted((o for o in self.orders.values() if pred(o)), key=key, reverse=bool(args.get("reverse")))
        after = args.get("after")
        if after:
            c = _decode(str(after))
            if not isinstance(c, dict) or c.get("sort") != sort or "last_id" not in c:
                raise GraphQLError("Invalid cursor for current pagination sort.", "BAD_REQUEST")
            mark = (str(c.get("last_value") or ""), int(c["last_id"]))
            items = [o for o in items if (key(o) < mark if args.get("reverse") else key(o) > mark)]
        page = items[:first]
        cursors = [_encode({"sort": sort, "last_id": o.id, "last_value": key(o)[0]}) for o in page]
        nodes = [self._order_node(o) for o in page]
        return {"__connection__": True, "nodes": nodes,
                "edges": [{"__free__": True, "cursor": c, "node": n} for c, n in zip(cursors, nodes)],
                "pageInfo": {"__free__": True, "hasNextPage": len(items) > first, "hasPreviousPage": bool(after),
                             "startCursor": cursors[0] if cursors else None,
                             "endCursor": cursors[-1] if cursors else None}}

    def variants_connection(self, args: Mapping[str, Any], run: _Run) -> dict[str, Any]:
        pred, ignored = _search(args.get("query"), {"sku": lambda li, s: _compare(li.sku, s, str)})
        if ignored:
            run.warnings.append({"path": ["productVariants"], "query": args.get("query"),
                                 "warnings": [{"field": f, "message": "Invalid search field for this query."}
                                              for f in ignored]})
        return _connection([self._variant_node(li) for li in self.listings.values() if pred(li)], args)

    def fulfillment_create(self, args: Mapping[str, Any]) -> dict[str, Any]:
        inp = args.get("fulfillment") or {}
        errors: list[dict[str, Any]] = []
        plan: list[tuple[FakeOrder, FakeFulfillmentOrder, FakeFoLine, int]] = []
        groups = inp.get("lineItemsByFulfillmentOrder") or []
        owners: set[int] = set()
        for i, group in enumerate(groups):
            path = ["fulfillment", "lineItemsByFulfillmentOrder", str(i)]
            found = self._fulfillment_order(group.get("fulfillmentOrderId"))
            if found is None:
                errors.append({"field": [*path, "fulfillmentOrderId"], "message": "Fulfillment order does not exist."})
                continue
            order, fo = found
            owners.add(order.id)
            if fo.status not in ("OPEN", "IN_PROGRESS"):
                errors.append({"field": [*path, "fulfillmentOrderId"],
                               "message": f"Fulfillment order {fo.id} has an unfulfillable status= {fo.status.lower()}."})
                continue
            wanted = group.get("fulfillmentOrderLineItems")
            by_id = {gid("FulfillmentOrderLineItem", x.id): x for x in fo.lines}
            picks = [(x, x.remaining) for x in fo.lines if x.remaining] if not wanted else []
            for j, item in enumerate(wanted or ()):
                x = by_id.get(str(item.get("id")))
                qty = int(item.get("quantity") or 0)
                if x is None or qty <= 0 or qty > x.remaining:
                    errors.append({"field": [*path, "fulfillmentOrderLineItems", str(j)],
                                   "message": "Invalid fulfillment order line item quantity requested."})
                    continue
                picks.append((x, qty))
            plan += [(order, fo, x, q) for x, q in picks]
        if len(owners) > 1:
            errors.append({"field": ["fulfillment"], "message": "All fulfillment orders must belong to the same order."})
        if not errors and not plan:
            errors.append({"field": ["fulfillment"], "message": "Fulfillment orders have nothing left to fulfill."})
        if errors:
            return {"fulfillment": None, "userErrors": errors}
        order = plan[0][0]
        tracking = inp.get("trackingInfo") or {}
        f = FakeFulfillment(next(self._ids), self._stamp(), tracking.get("company"), tracking.get("number"),
                            tracking.get("url"), [], bool(inp.get("notifyCustomer")))
        for _, fo, x, qty in plan:
            x.remaining -= qty
            f.lines.append((x.line_id, qty))
            fo.status = "CLOSED" if not any(y.remaining for y in fo.lines) else "IN_PROGRESS"
        order.fulfillments.append(f)
        order.updated_at = self._stamp(order.updated_at)
        return {"fulfillment": self._fulfillment_node(order, f), "userErrors": []}

    def _fulfillment_order(self, ref: Any) -> tuple[FakeOrder, FakeFulfillmentOrder] | None:
        n = _gid_number(ref, "FulfillmentOrder")
        for o in self.orders.values():
            for fo in o.fulfillment_orders:
                if fo.id == n:
                    return o, fo
        return None

    def inventory_set(self, f: Field) -> dict[str, Any]:
        idem = f.directives.get("idempotent")
        if idem is None or not idem.get("key"):
            raise GraphQLError("The @idempotent directive is required for this mutation.", "BAD_REQUEST")
        inp = f.args.get("input") or {}
        params = json.dumps(inp, sort_keys=True)
        key = str(idem["key"])
        if key in self._idempotent:
            seen, result = self._idempotent[key]
            if seen != params:
                raise GraphQLError("The same idempotency key was used with different parameters.",
                                   "IDEMPOTENCY_KEY_PARAMETER_MISMATCH")
            return dict(result)
        result = self._inventory_set(inp)
        self._idempotent[key] = (params, result)
        return result

    def _inventory_set(self, inp: Mapping[str, Any]) -> dict[str, Any]:
        quantities = list(inp.get("quantities") or ())
        if len(quantities) > _MAX_PAGE:
            raise GraphQLError(f"The input array size of {len(quantities)} is greater than the maximum allowed of "
                               f"{_MAX_PAGE}.", "MAX_INPUT_SIZE_EXCEEDED")
        errors: list[dict[str, Any]] = []
        if inp.get("name") not in ("available", "on_hand"):
            errors.append({"code": "INVALID_NAME", "field": ["input", "name"], "message": "The quantity name is invalid."})
        if inp.get("reason") not in _REASONS:
            errors.append({"code": "INVALID_REASON", "field": ["input", "reason"], "message": "The reason is invalid."})
        by_item = {gid("InventoryItem", li.inventory_item_id): li for li in self.listings.values()}
        changes: list[tuple[FakeListing, dict[str, int], int]] = []
        for i, q in enumerate(quantities):
            path = ["input", "quantities", str(i)]
            if "changeFromQuantity" not in q:
                raise GraphQLError("InventoryQuantityInput.changeFromQuantity must be given (null to skip the check).",
                                   "BAD_REQUEST")
            listing = by_item.get(str(q.get("inventoryItemId")))
            if listing is None:
                errors.append({"code": "INVALID_INVENTORY_ITEM", "field": [*path, "inventoryItemId"],
                               "message": "The specified inventory item could not be found."})
                continue
            level = listing.levels.get(str(q.get("locationId")))
            if level is None:
                errors.append({"code": "ITEM_NOT_STOCKED_AT_LOCATION", "field": [*path, "locationId"],
                               "message": "The specified inventory item is not stocked at the location."})
                continue
            qty = q.get("quantity")
            if not isinstance(qty, int) or abs(qty) > 1_000_000_000:
                errors.append({"code": "INVALID_QUANTITY_TOO_HIGH", "field": [*path, "quantity"],
                               "message": "The quantity is out of range."})
                continue
            expected = q.get("changeFromQuantity")
            if expected is not None and expected != level["available"]:
                errors.append({"code": "CHANGE_FROM_QUANTITY_STALE", "field": [*path, "changeFromQuantity"],
                               "message": "The specified compare quantity does not match the current quantity."})
                continue
            changes.append((listing, level, qty))
        if errors:  # nothing applies unless everything does
            return {"inventoryAdjustmentGroup": None, "userErrors": errors}
        moves = []
        now = dt.datetime.now(dt.timezone.utc)
        for listing, level, qty in changes:
            moves.append({"name": inp["name"], "delta": qty - level["available"], "quantityAfterChange": qty,
                          "item": {"id": gid("InventoryItem", listing.inventory_item_id)}})
            level["available"] = qty
            self._accepted.setdefault(listing.sku, []).append((now, qty))
        self.inventory_batches.append(len(changes))
        group = {"__typename": "InventoryAdjustmentGroup", "id": gid("InventoryAdjustmentGroup", next(self._ids)),
                 "reason": inp.get("reason"), "referenceDocumentUri": inp.get("referenceDocumentUri"),
                 "createdAt": _iso(self._stamp()), "changes": lambda a: moves}
        return {"inventoryAdjustmentGroup": group, "userErrors": []}


def _page_size(args: Mapping[str, Any]) -> int:
    if args.get("first") is None and args.get("last") is None:
        raise GraphQLError("you must provide one of first or last", "BAD_REQUEST")
    n = int(args.get("first") or args.get("last") or 0)
    if n > _MAX_PAGE or n < 0:
        raise GraphQLError(f"The first argument must be between 0 and {_MAX_PAGE} (was {n}).", "BAD_REQUEST")
    return n


def _connection(items: list[dict[str, Any]], args: Mapping[str, Any]) -> dict[str, Any]:
    """A nested connection paged by position (line items, fulfillment orders, variants)."""
    first = _page_size(args)
    start = 0
    if args.get("after"):
        c = _decode(str(args["after"]))
        if not isinstance(c, dict) or not isinstance(c.get("i"), int):
            raise GraphQLError("Invalid cursor.", "BAD_REQUEST")
        start = c["i"] + 1
    page = items[start:start + first]
    cursors = [_encode({"i": start + n}) for n in range(len(page))]
    return {"__connection__": True, "nodes": page,
            "edges": [{"__free__": True, "cursor": c, "node": n} for c, n in zip(cursors, page)],
            "pageInfo": {"__free__": True, "hasNextPage": start + first < len(items), "hasPreviousPage": start > 0,
                         "startCursor": cursors[0] if cursors else None, "endCursor": cursors[-1] if cursors else None}}


class _Run:
    """One request's execution: the actual cost as objects are returned, search warnings."""

    def __init__(self, shop: FakeShopify) -> None:
        self.shop, self.cost = shop, 0
        self.warnings: list[dict[str, Any]] = []

    def root(self, op: str, f: Field) -> Any:
        shop = self.shop
        if op == "mutation":
            if f.name == "fulfillmentCreate":
                return self.project(shop.fulfillment_create(f.args), f.selections, top=True)
            if f.name == "inventorySetQuantities":
                return self.project(shop.inventory_set(f), f.selections, top=True)
            raise GraphQLError(f"Field '{f.name}' doesn't exist on type 'Mutation'", "undefinedField")
        if f.name == "orders":
            return self.project(shop.orders_connection(f.args, self), f.selections)
        if f.name == "productVariants":
            return self.project(shop.variants_connection(f.args, self), f.selections)
        if f.name in ("order", "node", "inventoryItem", "productVariant"):
            return self.project(shop._node(f.args.get("id")), f.selections)
        if f.name == "shop":
            return self.project({"__typename": "Shop", "name": shop.shop.split(".")[0], "myshopifyDomain": shop.shop,
                                 "currencyCode": shop.currency, "ianaTimezone": "America/New_York"}, f.selections)
        if f.name == "nodes":
            return [self.project(shop._node(i), f.selections) for i in f.args.get("ids") or ()]
        raise GraphQLError(f"Field '{f.name}' doesn't exist on type 'QueryRoot'", "undefinedField")

    def project(self, value: Any, sels: Sequence[Field | Fragment], *, top: bool = False) -> Any:
        if value is None or not sels:
            return value
        if isinstance(value, list):
            return [self.project(v, sels) for v in value]
        if not isinstance(value, dict):
            return value
        if value.get("__connection__"):
            self.cost += 2
        elif not value.get("__free__") and not top:
            self.cost += 1
        out: dict[str, Any] = {}
        for s in sels:
            if isinstance(s, Fragment):
                if s.type_name is None or value.get("__typename") == s.type_name:
                    out.update(self.project({**value, "__free__": True}, s.selections, top=True))
                continue
            if s.name == "__typename":
                out[s.key] = value.get("__typename")
                continue
            if s.name not in value:
                raise GraphQLError(f"Field '{s.name}' doesn't exist on type '{value.get('__typename', 'Object')}'",
                                   "undefinedField")
            v = value[s.name]
            if callable(v):
                v = v(s.args)
            out[s.key] = self.project(v, s.selections) if s.selections else v
        return out

