"""A realistic demo store: 3 locations, ~500 SKUs, ~5,000 orders across channels and states.

Everything goes through the same write path the gateway uses (catalog, receipts, intake,
holds, cancels, shipments), so the demo is also a smoke test of that path.
"""

from __future__ import annotations

import datetime as dt
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from store import Store, ingest
from store.canonical import Address, CanonicalLine, CanonicalOrder
from store.catalog import NewSku, add_alias, add_channel, add_location, add_partner, add_skus, limit_channel_locations
from store.fulfilment import ship_reserved
from store.inventory import receive, set_safety
from store.orders import cancel, close, hold

if TYPE_CHECKING:
    from gateway.settings import ApiChannelSpec

__all__ = ["DemoSummary", "seed"]

_LOCATIONS = [
    ("DAL", "Dallas DC", "warehouse", 1, "Dallas", "TX", 32.78, -96.80),
    ("RNO", "Reno DC", "warehouse", 2, "Reno", "NV", 39.53, -119.81),
    ("NYC", "SoHo store", "store", 3, "New York", "NY", 40.72, -74.00),
]
_CHANNELS = [
    ("shopify-main", "Shopify (main store)", "marketplace"),
    ("amazon-us", "Amazon US", "marketplace"),
    ("woo-outlet", "WooCommerce outlet", "cart"),
    ("ebay", "eBay", "marketplace"),
    ("retail-csv", "Regional retailers (CSV drop)", "csv"),
]
_CITIES = [
    ("Austin", "TX", "78701"), ("Denver", "CO", "80202"), ("Portland", "OR", "97204"),
    ("Chicago", "IL", "60601"), ("Boston", "MA", "02108"), ("Atlanta", "GA", "30303"),
    ("Phoenix", "AZ", "85004"), ("Seattle", "WA", "98101"), ("Miami", "FL", "33130"),
]
_NAMES = ["Ada Park", "Lin Okafor", "Sam Reyes", "Jo Becker", "Ravi Shah", "Mia Novak", "Tom Baker", "Eve Laurent"]
_WORDS = ["Canvas", "Steel", "Cedar", "Wool", "Linen", "Copper", "Slate", "Maple"]
_GOODS = ["Tote", "Bottle", "Lamp", "Blanket", "Mug", "Shelf", "Apron", "Planter", "Stool", "Kettle"]


@dataclass
class DemoSummary:
    skus: int = 0
    orders: int = 0
    statuses: dict[str, int] | None = None


def seed(
    store: Store, *, orders: int = 5000, skus: int = 500, rng_seed: int = 7, progress: Callable[[str], None] = lambda _: None
) -> DemoSummary:
    rng = random.Random(rng_seed)
    now = dt.datetime.now(dt.timezone.utc)
    progress("catalog: locations, channels, partner, SKUs")
    for code, name, kind, prio, city, region, lat, lon in _LOCATIONS:
        add_location(store, code, name, kind=kind, priority=prio, city=city, region=region, country="US",
                     latitude=lat, longitude=lon)
    for code, name, kind in _CHANNELS:
        add_channel(store, code, name, kind)
    limit_channel_locations(store, "woo-outlet", ["NYC", "DAL"])
    add_partner(store, "acme-retail", "ACME Retail Stores", isa_qualifier="ZZ", isa_id="ACMERETAIL", gs_id="ACMERETAIL",
                our_isa_qualifier="ZZ", our_isa_id="OMSDEMO", our_gs_id="OMSDEMO")
    catalog = [
        NewSku(f"SKU-{i:04d}", f"{rng.choice(_WORDS)} {rng.choice(_GOODS)} {i}", rng.randrange(499, 12999, 100), "USD",
               rng.randrange(100, 5000))
        for i in range(1, skus + 1)
    ]
    add_skus(store, catalog)
    # Amazon and the EDI partner name items their own way; aliases map them to our SKUs.
    for i, sku in enumerate(catalog[:60]):
        add_alias(store, sku.code, "channel_item_id", f"B0{i:08d}", channel="amazon-us")
        add_alias(store, sku.code, "buyer_part", f"ACME-{i:05d}", channel="acme-retail")
    progress("stock: receipts at three locations")
    for n, sku in enumerate(catalog):
        # A tail of slow movers with little stock makes backorders appear naturally.
        for loc, _, _, _, _, _, _, _ in _LOCATIONS:
            if rng.random() < (0.85 if n < skus * 0.8 else 0.25):
                bulk = 40 if n < 25 else 1  # best sellers are stocked deep
                receive(store, sku.code, loc, rng.randint(5, 120) * bulk, reference="opening balance", actor="demo")
        if n % 50 == 0:
            set_safety(store, sku.code, "NYC", 2, actor="demo")

    progress(f"orders: {orders} through intake")
    canon: list[CanonicalOrder] = []
    channels = [c[0] for c in _CHANNELS] + ["acme-retail"]
    for i in range(orders):
        ch = rng.choices(channels, weights=[30, 25, 10, 10, 10, 15])[0]
        lines = []
        for _ in range(rng.choice([1, 1, 2, 3, 4])):
            idx = min(int(rng.paretovariate(1.2)) - 1, skus - 1) if rng.random() < 0.3 else rng.randrange(skus)
            sku = catalog[idx]
            item, kind = sku.code, "sku"
            if ch == "amazon-us" and idx < 60:
                item, kind = f"B0{idx:08d}", "channel_item_id"
            elif ch == "acme-retail" and idx < 60:
                item, kind = f"ACME-{idx:05d}", "buyer_part"
            lines.append(CanonicalLine(item, rng.randint(1, 24 if ch == "acme-retail" else 3), sku.unit_price_minor or 999,
                                       item_kind=kind))
        if rng.random() < 0.01:
            lines.append(CanonicalLine(f"UNMAPPED-{rng.randrange(1000)}", 1, 1500, item_kind="channel_item_id"))
        city, region, postal = rng.choice(_CITIES)
        name = rng.choice(_NAMES)
        placed = now - dt.timedelta(minutes=(orders - i) * rng.uniform(2, 6))
        canon.append(
            CanonicalOrder(
                channel=ch,
                external_id=f"{ch[:3].upper()}-{100000 + i}",
                lines=tuple(lines),
                currency="USD",
                version=1,
                placed_at=placed,
                buyer_name=name if ch != "acme-retail" else "ACME Retail Stores",
                buyer_ref=f"PO{500000 + i}" if ch == "acme-retail" else None,
                ship_to=Address(name, f"{rng.randint(1, 999)} Main St", None, city, region, postal, "US"),
                requested_ship_date=(placed + dt.timedelta(days=2)).date(),
                cancel_after=(placed + dt.timedelta(days=21)).date() if ch == "acme-retail" else None,
            )
        )
    report = ingest(store, canon, actor="demo")
    created = [o for o in report.outcomes if o.order_id is not None]

    progress("workflow: ship, close, hold and cancel a share of the orders")
    allocated = [o.order_id for o in created if o.status == "allocated" and o.order_id is not None]
    rng.shuffle(allocated)
    cut = len(allocated)
    to_ship = allocated[: int(cut * 0.45)]
    to_hold = allocated[int(cut * 0.45) : int(cut * 0.45) + 60]
    to_cancel = allocated[int(cut * 0.45) + 60 : int(cut * 0.45) + 160]
    for n, oid in enumerate(to_ship):
        ship_reserved(store, oid, carrier=rng.choice(["UPS", "FedEx", "USPS"]), tracking=f"1Z{rng.randrange(10**15):015d}", actor="demo")
        if n % 2 == 0:
            close(store, oid, actor="demo")
    for oid in to_hold:
        hold(store, oid, rng.choice(["address check", "fraud review", "customer asked to wait"]), actor="demo")
    for oid in to_cancel:
        cancel(store, oid, rng.choice(["customer cancelled", "payment failed"]), actor="demo")
    backordered = [o.order_id for o in created if o.status == "backordered" and o.order_id is not None]
    for oid in backordered[:40]:
        ship_reserved_if_any(store, oid, rng)

    from sqlalchemy import func, select

    from store.models import Order
    from store.outbox import settled_elsewhere

    # The seed is history: its marketplace shipments were confirmed long ago. (The fake
    # marketplaces the demo starts know only the orders their shoppers place.)
    settled_elsewhere(store, kinds=("shipment_confirm", "order_cancel", "refund"),
                      targets=[c for c, _, k in _CHANNELS if k != "csv"], actor="demo",
                      reason="demo history: confirmed before the demo marketplaces started")
    with store.read() as conn:
        statuses = {s: int(n) for s, n in conn.execute(select(Order.status, func.count()).group_by(Order.status))}
    return DemoSummary(skus=len(catalog), orders=len(created), statuses=statuses)


def ship_reserved_if_any(store: Store, order_id: int, rng: random.Random) -> None:
    """Backordered orders with some lines reserved ship what they have: partially shipped."""
    from store.errors import TransitionError

    try:
        ship_reserved(store, order_id, carrier="UPS", tracking=f"1Z{rng.randrange(10**15):015d}", actor="demo")
    except TransitionError:
        pass


DEMO_PARTNER = "acme-retail"


def start_demo_gateway(store: Store, home: Path, stop: threading.Event, *, every: float = 5.0) -> list[threading.Thread]:
    """The gateway in the background on the demo sources, each real I/O on this machine:
    - a demo EDI partner whose mailbox is a local folder (`<home>/mailboxes/acme-retail/in` and
      `out`) that a feed fills with 850s every `every` seconds; 997s appear in its `out`;
    - fake Shopify, Amazon, WooCommerce and eBay APIs on loopback (connectors.fakes), where a
      shopper buys something every few seconds; the gateway polls them for orders, pushes every
      stock change to each channel listing the SKU and confirms shipments there.
    Returns the threads (they end when `stop` is set)."""
    from gateway.daemon import Gateway
    from gateway.demo_feed import DemoFeed
    from gateway.logs import configure
    from gateway.settings import GatewaySettings, MailboxSpec

    home.mkdir(parents=True, exist_ok=True)
    configure("text", stream=(home / "gateway.log").open("a", encoding="utf-8"))  # not over the TUI

    folder = home / "mailboxes" / DEMO_PARTNER
    for sub in ("in", "out"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    items = [f"ACME-{i:05d}" for i in range(60)]
    feed = DemoFeed(folder, partner_isa="ACMERETAIL", our_isa="OMSDEMO", items=items, every=every)
    spec = MailboxSpec(DEMO_PARTNER, "folder", folder=folder, poll_seconds=max(1.0, every / 2))
    shoppers, channels = _demo_channels(store, every)
    gw = Gateway(store, GatewaySettings(mailboxes=(spec,), channels=channels, dispatch_seconds=2.0))
    threads = [threading.Thread(target=feed.run, args=(stop,), name="demo-feed", daemon=True),
               threading.Thread(target=shoppers.run, args=(stop,), name="demo-shoppers", daemon=True),
               threading.Thread(target=gw.serve, args=(stop,), name="gateway", daemon=True)]
    for t in threads:
        t.start()
    return threads


DEMO_LISTED = 40  # SKUs listed on the demo marketplaces (SKU-0001 ...)


def _demo_channels(store: Store, every: float) -> tuple[DemoShoppers, tuple[ApiChannelSpec, ...]]:
    """Start the fake marketplaces and point the demo's channels at them (oms.toml would say
    `connector = "shopify"` and `[channels.api] url = ...`)."""
    from connectors.fakes.rig import DEMO_CHANNELS, start_rig
    from gateway.settings import ApiChannelSpec
    from store.setup import ChannelSpec, Setup, apply_setup

    skus = [f"SKU-{i:04d}" for i in range(1, DEMO_LISTED + 1)]
    rig = start_rig(DEMO_CHANNELS, skus=skus, qty=0)
    names = {code: name for code, name, _ in _CHANNELS}
    kinds = {code: kind for code, _, kind in _CHANNELS}
    # The seed limited the outlet to two locations; the configuration says so again.
    apply_setup(store, Setup(channels=[
        ChannelSpec(code, names[code], kinds[code], locations=("NYC", "DAL") if code == "woo-outlet" else (),
                    connector=kind, listings=tuple(skus), stock_buffer=1 if code == "amazon-us" else 0)
        for code, kind in DEMO_CHANNELS.items()
    ]), actor="demo")
    # A real store's clock is trusted less: a minute or two of lag. On loopback a few seconds do,
    # except at Amazon, whose fake enforces the real API's two minutes.
    quick = {"safety_lag_seconds": 3, "overlap_seconds": 60}
    specs = tuple(ApiChannelSpec(code, kind, {**rig.settings[code], **({} if kind == "amazon" else quick)},
                                 poll_seconds=max(2.0, every / 2), stock_seconds=0.5)
                  for code, kind in DEMO_CHANNELS.items())
    return DemoShoppers(rig, skus, every=every), specs


class DemoShoppers:
    """A shopper buys one or two listed items at a random fake channel every `every` seconds."""

    def __init__(self, rig: Any, skus: list[str], *, every: float, seed: int | None = None) -> None:
        self.rig, self.skus, self.every = rig, skus, every
        self.rng = random.Random(seed)
        self.count = 0
        # Ids no earlier demo run used: the store keeps orders across runs, the fakes do not.
        self._base = int(dt.datetime.now(dt.timezone.utc).timestamp()) * 1000

    def buy(self) -> str:
        code = self.rng.choice(sorted(self.rig.fakes))
        picks = self.rng.sample(self.skus, k=self.rng.randint(1, 2))
        city, region, postal = self.rng.choice(_CITIES)
        self.count += 1
        ship_to = {"name": self.rng.choice(_NAMES), "address1": f"{self.rng.randint(1, 999)} Market St",
                   "city": city, "region": region, "postal_code": postal, "country": "US"}
        return str(self.rig.fakes[code].add_order({s: self.rng.randint(1, 2) for s in picks},
                                                   external_id=str(self._base + self.count), ship_to=ship_to))

    def run(self, stop: threading.Event) -> None:
        try:
            while not stop.wait(self.every):
                self.buy()
        finally:
            self.rig.stop()
