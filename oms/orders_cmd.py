"""`oms ship | hold | release | cancel | pickup`: working orders from the terminal.

    oms ship PO-1001 --location DAL --carrier UPS --tracking 1Z... [--carton "S1:2,S2:1@1Z..."]...
    oms hold PO-1001 [PO-1002...] --kind fraud --reason "card declined twice"
    oms release PO-1001 [PO-1002...] --reason "cleared by risk" [--kind fraud]
    oms cancel PO-1001 [--line 2:1]... --reason "discontinued"
    oms pickup ready PO-1001 / oms pickup done PO-1001 [--collected-by NAME]

ORDER is the order's external id (PO number, marketplace order id), with --channel when two
channels use the same id, or `#<id>` for the store's own order id (a plain number that is no
order's external id is taken as the store's id too). Exit codes: 0 done, 1 some orders were
skipped (release), 2 bad input or a change the store refused (the message says which order,
which line and why).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from decimal import Decimal, InvalidOperation
from typing import TypeVar

import click
from sqlalchemy import Connection, select

from oms.session import opened, operator
from store import Store, StoreError
from store.models import Order, OrderLine, Sku
from store.orders import find_order

__all__ = ["ship", "hold", "release", "cancel", "pickup", "COMMANDS"]

T = TypeVar("T")


class BadInput(click.ClickException):
    """An order, line or option the store cannot act on: exit 2 with the reason."""

    exit_code = 2




def _resolve(conn: Connection, ref: str, channel: str | None) -> int:
    """The store id of the order `ref` names (see the module docstring)."""
    try:
        return find_order(conn, ref, channel)
    except StoreError as exc:
        raise BadInput(str(exc)) from exc


def _resolve_all(store: Store, refs: Sequence[str], channel: str | None) -> list[tuple[str, int]]:
    with store.read() as conn:
        return [(ref, _resolve(conn, ref, channel)) for ref in refs]


def _refused(what: Callable[[], T]) -> T:
    try:
        return what()
    except StoreError as exc:
        raise BadInput(str(exc)) from exc


_channel = click.option("--channel", default=None, help="The order's channel, when its id is on several.")


# ------------------------------------------------------------------------------------ ship


def _carton(text: str) -> tuple[dict[str, int], str | None]:
    """`S1:2,S2:1@1Z...` -> ({"S1": 2, "S2": 1}, "1Z..."); `*` (the rest) -> ({}, None)."""
    body, at, tracking = text.strip().partition("@")
    skus: dict[str, int] = {}
    if body.strip() != "*":
        for part in body.split(","):
            sku, sep, qty = part.strip().rpartition(":")
            if not sep or not sku.strip() or not qty.strip().isdigit() or int(qty) <= 0:
                raise BadInput(f"--carton {text!r}: each item is SKU:QTY with a positive whole QTY "
                               f"(got {part.strip()!r}); use * for everything not in another carton")
            skus[sku.strip()] = skus.get(sku.strip(), 0) + int(qty)
    if at and not tracking.strip():
        raise BadInput(f"--carton {text!r}: a tracking number follows @")
    return skus, tracking.strip() or None


def _cost(text: str | None, currency: str) -> int | None:
    from store.money import currency_exponent

    if text is None:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise BadInput(f"--cost {text!r} is not an amount (e.g. 12.50)") from None
    places = currency_exponent(currency)
    minor = value * (10 ** places)
    if value < 0 or minor != minor.to_integral_value():
        raise BadInput(f"--cost {text}: a non-negative amount in {currency} with at most {places} decimals")
    return int(minor)


@click.command()
@click.argument("order")
@click.option("--location", "-l", required=True, help="Where it ships from (location code).")
@click.option("--carrier", required=True, help="Carrier name or SCAC (UPS, FDEG, ...).")
@click.option("--tracking", default="", help="The shipment's tracking number (required).")
@click.option("--service", default=None, help="Carrier service (GROUND, 2DAY, ...).")
@click.option("--cost", default=None, help="What the shipment cost, in the order's currency (12.50).")
@click.option("--carton", "cartons", multiple=True, metavar="SKU:QTY,...[@TRACKING]",
              help="One carton and what is in it; * is everything not in another carton. Repeat per carton. "
                   "Default: one carton with everything reserved at the location.")
@click.option("--loose", is_flag=True, help="No cartons (no SSCC labels): ship everything reserved there loose.")
@_channel
@click.pass_context
def ship(ctx: click.Context, order: str, location: str, carrier: str, tracking: str, service: str | None,
         cost: str | None, cartons: tuple[str, ...], loose: bool, channel: str | None) -> None:
    """Ship an order's units reserved at one location, in cartons labelled with SSCC-18."""
    from store.shipping import Pack
    from store.shipping import ship as ship_order

    if loose and cartons:
        raise BadInput("--loose ships without cartons; leave out --carton")
    config = ctx.obj.get("config")
    settings = config.shipping if config is not None else None
    prefix = settings.gs1_company_prefix if settings is not None else None
    packs = [Pack(skus=skus, tracking=parcel) for skus, parcel in map(_carton, cartons)]
    if cartons and prefix is None:
        raise BadInput("cartons need SSCC-18 labels: set gs1_company_prefix in the [shipping] section of oms.toml "
                       "(or ship with --loose)")
    if not cartons and not loose and prefix is not None:
        packs = [Pack()]
    with opened(ctx) as store:
        [(_, oid)] = _resolve_all(store, [order], channel)
        with store.read() as conn:
            currency = conn.execute(select(Order.currency).where(Order.id == oid)).scalar_one()
        done = _refused(lambda: ship_order(
            store, oid, location, carrier=carrier, tracking=tracking, cartons=packs, service=service,
            cost_minor=_cost(cost, currency), gs1_company_prefix=prefix,
            sscc_extension=settings.sscc_extension if settings is not None else 0, actor=operator(),
        ))
        names = _line_names(store, oid)
        click.echo(f"order {done.external_id}: shipment {done.shipment_id} from {done.location}, {done.units} units, "
                   f"{carrier} {tracking.strip()}; the order is {done.order_status}")
        for c in done.cartons:
            items = ", ".join(f"{names.get(n, n)} x{q}" for n, q in c.lines)
            click.echo(f"  carton {c.sscc}: {items}" + (f"  tracking {c.tracking}" if c.tracking else ""))
        if not done.cartons:
            items = ", ".join(f"{names.get(n, n)} x{q}" for n, q in done.lines)
            click.echo(f"  loose (no cartons): {items}")
            if prefix is None and not loose:
                click.echo("  set gs1_company_prefix in [shipping] of oms.toml to pack in labelled cartons", err=True)


def _line_names(store: Store, order_id: int) -> dict[int, str]:
    with store.read() as conn:
        return {int(n): f"line {n} {code or item}" for n, code, item in conn.execute(
            select(OrderLine.line_no, Sku.code, OrderLine.item).outerjoin(Sku, Sku.id == OrderLine.sku_id)
            .where(OrderLine.order_id == order_id))}


# ------------------------------------------------------------------------------ holds


@click.command()
@click.argument("orders", nargs=-1, required=True)
@click.option("--kind", type=click.Choice(["fraud", "address", "credit", "manual"]), default="manual",
              show_default=True, help="Which queue the hold puts the order in.")
@click.option("--reason", required=True, help="Why, for the next operator.")
@_channel
@click.pass_context
def hold(ctx: click.Context, orders: tuple[str, ...], kind: str, reason: str, channel: str | None) -> None:
    """Put orders on hold; their stock stays reserved."""
    from store.holds import hold as hold_order

    with opened(ctx) as store:
        failed = 0
        for ref, oid in _resolve_all(store, orders, channel):
            try:
                was = hold_order(store, oid, reason, kind, actor=operator())
            except StoreError as exc:
                click.echo(f"order {ref}: not held: {exc}", err=True)
                failed += 1
                continue
            click.echo(f"order {ref}: on hold ({kind}: {reason.strip()}), was {was}")
        if failed:
            sys.exit(BadInput.exit_code)


@click.command()
@click.argument("orders", nargs=-1, required=True)
@click.option("--reason", required=True, help="Why the hold ends (kept with who released it).")
@click.option("--kind", type=click.Choice(["fraud", "address", "credit", "manual", "routing"]), default=None,
              help="Release only holds of this kind; orders held for another reason are skipped.")
@_channel
@click.pass_context
def release(ctx: click.Context, orders: tuple[str, ...], reason: str, kind: str | None, channel: str | None) -> None:
    """Take orders off hold (all in one transaction), back to where their lines are."""
    from store.holds import release_many

    with opened(ctx) as store:
        refs = _resolve_all(store, orders, channel)
        names = {oid: ref for ref, oid in refs}
        done = _refused(lambda: release_many(store, [oid for _, oid in refs], reason=reason, kind=kind, actor=operator()))
        skipped = 0
        for r in done:
            if r.status is None:
                click.echo(f"order {names[r.order_id]}: skipped: {r.skipped}", err=True)
                skipped += 1
            else:
                click.echo(f"order {names[r.order_id]}: {r.kind} hold released, now {r.status}")
        if skipped:
            sys.exit(1)


# ---------------------------------------------------------------------------- cancel


def _line(text: str) -> tuple[int, int]:
    n, sep, q = text.partition(":")
    if not sep or not n.strip().isdigit() or not q.strip().isdigit() or int(q) <= 0:
        raise BadInput(f"--line {text!r}: give LINE:QTY, the line number and the units to cancel (e.g. 2:1)")
    return int(n), int(q)


@click.command()
@click.argument("order")
@click.option("--line", "lines", multiple=True, metavar="LINE:QTY",
              help="Cancel QTY units of line LINE; repeat per line. Default: every open unit of the order.")
@click.option("--reason", required=True, help="Why; the channel is told.")
@_channel
@click.pass_context
def cancel(ctx: click.Context, order: str, lines: tuple[str, ...], reason: str, channel: str | None) -> None:
    """Cancel an order, or some units of its lines; their stock is available again."""
    from store.cancellations import cancel_units

    wanted: dict[int, int] = {}
    for text in lines:
        n, q = _line(text)
        wanted[n] = wanted.get(n, 0) + q
    with opened(ctx) as store:
        [(_, oid)] = _resolve_all(store, [order], channel)
        done = _refused(lambda: cancel_units(store, oid, wanted or None, reason=reason, actor=operator()))
        names = _line_names(store, oid)
        click.echo(f"order {done.external_id}: {done.units} units cancelled; {done.released} reserved units back in "
                   f"stock, {done.backorders_closed} backordered units no longer awaited; the order is {done.status}")
        for n, q in done.lines:
            click.echo(f"  {names.get(n, n)}: {q} cancelled")


# ---------------------------------------------------------------------------- pickup


@click.group()
def pickup() -> None:
    """Pick-up in store: set an order aside, then hand it over."""


@pickup.command(name="ready")
@click.argument("order")
@_channel
@click.pass_context
def pickup_ready(ctx: click.Context, order: str, channel: str | None) -> None:
    """Everything is set aside at the pick-up store; the customer is told."""
    from store.pickup import ready_for_pickup

    with opened(ctx) as store:
        [(ref, oid)] = _resolve_all(store, [order], channel)
        at = _refused(lambda: ready_for_pickup(store, oid, actor=operator()))
        click.echo(f"order {ref}: ready for pick-up at {at}")


@pickup.command(name="done")
@click.argument("order")
@click.option("--collected-by", default=None, help="Who collected it.")
@_channel
@click.pass_context
def pickup_done(ctx: click.Context, order: str, collected_by: str | None, channel: str | None) -> None:
    """The customer collected the order: its stock leaves the store."""
    from store.pickup import picked_up

    with opened(ctx) as store:
        [(ref, oid)] = _resolve_all(store, [order], channel)
        done = _refused(lambda: picked_up(store, oid, collected_by=collected_by, actor=operator()))
        click.echo(f"order {ref}: picked up at {done.location}, {done.units} units")


COMMANDS = (ship, hold, release, cancel, pickup)
