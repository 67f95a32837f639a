"""`oms return ...`: RMAs at the terminal, for customer service and the returns desk.

    oms return authorise ORDER --line N:QTY:REASON ... [--refund AMOUNT] [--resolution R]
    oms return receive RMA --location L --line N:QTY[:CONDITION] ...
    oms return inspect RMA --line N [--restock QTY [--at L]] [--scrap QTY]
    oms return resolve RMA [--resolution R] [--refund AMOUNT] [--item SKU:QTY ...]
    oms return cancel RMA --reason TEXT
    oms return show RMA
    oms return list ORDER

Exit codes: 0 done, 1 other writers kept winning (run it again), 2 bad input (the message
names the order, RMA or line and why).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import click
from sqlalchemy import select

from oms.session import operator
from store import ConflictError, Store, StoreError
from store.models import Order
from store.orders import find_order
from store.money import parse_amount
from store.returns import (
    CONDITIONS,
    RESOLUTIONS,
    Disposition,
    Receipt,
    Replacement,
    ReturnView,
    RmaLine,
    authorise,
    cancel,
    get_return,
    inspect,
    receive,
    resolve,
    returns_of,
)

__all__ = ["return_group"]


class BadInput(click.ClickException):
    """What the operator asked for cannot be done as asked: exit 2 with the reason."""

    exit_code = 2


@contextmanager
def _reported() -> Iterator[None]:
    try:
        yield
    except ConflictError as exc:
        raise click.ClickException(f"{exc} (other writers kept winning; run it again)") from exc
    except StoreError as exc:
        raise BadInput(str(exc)) from exc


def _store(ctx: click.Context) -> Store:
    from oms.cli import _open

    return _open(ctx)




def _order(store: Store, ref: str, channel: str | None) -> tuple[int, str]:
    """The order an operator names (store.orders.find_order) and its currency."""
    with store.read() as conn:
        try:
            oid = find_order(conn, ref, channel)
        except StoreError as exc:
            raise BadInput(str(exc)) from exc
        return oid, str(conn.execute(select(Order.currency).where(Order.id == oid)).scalar_one())


def _int(text: str, what: str, spec: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise click.BadParameter(f"{spec!r}: {what} {text!r} is not a whole number") from None


def _rma_lines(_ctx: click.Context, _param: click.Parameter, values: tuple[str, ...]) -> list[RmaLine]:
    out = []
    for spec in values:
        parts = spec.split(":", 2)
        if len(parts) != 3 or not parts[2].strip():
            raise click.BadParameter(f"{spec!r}: write LINE:QTY:REASON, e.g. 2:1:too small")
        out.append(RmaLine(_int(parts[0], "line", spec), _int(parts[1], "quantity", spec), parts[2].strip()))
    return out


def _receipts(_ctx: click.Context, _param: click.Parameter, values: tuple[str, ...]) -> list[Receipt]:
    out = []
    for spec in values:
        parts = spec.split(":")
        if len(parts) not in (2, 3):
            raise click.BadParameter(f"{spec!r}: write LINE:QTY or LINE:QTY:CONDITION, e.g. 1:2:opened")
        condition = parts[2].strip() if len(parts) == 3 else None
        out.append(Receipt(_int(parts[0], "line", spec), _int(parts[1], "quantity", spec), condition or None))
    return out


def _items(_ctx: click.Context, _param: click.Parameter, values: tuple[str, ...]) -> list[Replacement]:
    out = []
    for spec in values:
        sku, sep, qty = spec.rpartition(":")
        if not sep or not sku:
            raise click.BadParameter(f"{spec!r}: write SKU:QTY, e.g. TEE-M:1")
        out.append(Replacement(sku, _int(qty, "quantity", spec)))
    return out


def _echo(view: ReturnView) -> None:
    click.echo(f"{view.rma}  {view.status}  order {view.order_external_id} on {view.channel} (id {view.order_id})")
    if view.resolution:
        click.echo(f"  resolution: {view.resolution}" + (f", refund {view.refund}" if view.refund else ""))
    if view.reason:
        click.echo(f"  note: {view.reason}")
    if view.location and view.received_at:
        click.echo(f"  received at {view.location}, first on {view.received_at:%Y-%m-%d %H:%M} UTC")
    if view.new_order_id is not None:
        click.echo(f"  {view.resolution} order {view.new_order_external_id} (id {view.new_order_id}): "
                   f"{view.new_order_status}")
    click.echo(f"  {'line':>4}  {'item':<16} {'qty':>4} {'recv':>5} {'restock':>8} {'scrap':>6}  condition / reason")
    for ln in view.lines:
        at = ", ".join(f"{loc}:{n}" for loc, n in ln.restocked_at)
        click.echo(
            f"  {ln.line_no:>4}  {ln.sku or ln.item:<16} {ln.qty:>4} {ln.received:>5} {ln.restocked:>8} "
            f"{ln.scrapped:>6}  {ln.condition or '-'} / {ln.reason or '-'}" + (f"  (restocked at {at})" if at else "")
        )


@click.group(name="return")
def return_group() -> None:
    """Returns (RMA): authorise, receive at any location, inspect, resolve."""


@return_group.command(name="authorise")
@click.argument("order")
@click.option("--channel", default=None, help="The order's channel, when its external id is on several.")
@click.option("--line", "lines", multiple=True, required=True, callback=_rma_lines,
              help="LINE:QTY:REASON, once per order line coming back (e.g. 2:1:too small).")
@click.option("--refund", default=None, help="Refund amount in the order's currency (e.g. 12.50).")
@click.option("--resolution", type=click.Choice(RESOLUTIONS), default=None,
              help="How it will be resolved (may be decided at resolve instead).")
@click.option("--note", default=None, help="A note for the returns desk.")
@click.pass_context
def authorise_cmd(ctx: click.Context, order: str, channel: str | None, lines: list[RmaLine], refund: str | None,
                  resolution: str | None, note: str | None) -> None:
    """Authorise the return of shipped units of ORDER (its external id, or its number)."""
    store = _store(ctx)
    with _reported():
        oid, currency = _order(store, order, channel)
        amount = parse_amount(refund, currency) if refund is not None else None
        _echo(authorise(store, oid, lines, refund_minor=amount, resolution=resolution, reason=note, actor=operator()))


@return_group.command(name="receive")
@click.argument("rma")
@click.option("--location", required=True, help="Where the parcel arrived (any location).")
@click.option("--line", "lines", multiple=True, required=True, callback=_receipts,
              help=f"LINE:QTY[:CONDITION], condition one of {', '.join(CONDITIONS)}.")
@click.pass_context
def receive_cmd(ctx: click.Context, rma: str, location: str, lines: list[Receipt]) -> None:
    """Record units of RMA as arrived; stock does not change until inspection."""
    store = _store(ctx)
    with _reported():
        _echo(receive(store, rma, location, lines, actor=operator()))


@return_group.command(name="inspect")
@click.argument("rma")
@click.option("--line", "line_no", type=int, required=True, help="The order line inspected.")
@click.option("--restock", type=int, default=0, help="Units back into stock.")
@click.option("--at", "at", default=None, help="Location to restock at (default: where it was received).")
@click.option("--scrap", type=int, default=0, help="Units scrapped (never back into stock).")
@click.option("--condition", type=click.Choice(CONDITIONS), default=None, help="The condition found.")
@click.option("--note", default=None, help="Kept in the audit trail.")
@click.pass_context
def inspect_cmd(ctx: click.Context, rma: str, line_no: int, restock: int, at: str | None, scrap: int,
                condition: str | None, note: str | None) -> None:
    """Restock and/or scrap received units of one line of RMA."""
    store = _store(ctx)
    with _reported():
        d = Disposition(line_no, restock=restock, scrap=scrap, at=at, condition=condition, note=note)
        _echo(inspect(store, rma, [d], actor=operator()))


@return_group.command(name="resolve")
@click.argument("rma")
@click.option("--resolution", type=click.Choice(RESOLUTIONS), default=None,
              help="Default: the one given at authorisation.")
@click.option("--refund", default=None, help="Refund amount in the order's currency (default: the authorised one); "
              "alone, with no resolution chosen, it means --resolution refund.")
@click.option("--item", "items", multiple=True, callback=_items,
              help="SKU:QTY to send in exchange (default: the returned items).")
@click.pass_context
def resolve_cmd(ctx: click.Context, rma: str, resolution: str | None, refund: str | None,
                items: list[Replacement]) -> None:
    """Close an inspected RMA: refund it, or create its exchange or reship order."""
    store = _store(ctx)
    with _reported():
        amount = None
        if refund is not None:
            amount = parse_amount(refund, get_return(store, rma).currency)
        _echo(resolve(store, rma, resolution=resolution, refund_minor=amount, items=items, actor=operator()))


@return_group.command(name="cancel")
@click.argument("rma")
@click.option("--reason", required=True, help="Why the RMA is withdrawn.")
@click.pass_context
def cancel_cmd(ctx: click.Context, rma: str, reason: str) -> None:
    """Withdraw an RMA before anything of it was received."""
    store = _store(ctx)
    with _reported():
        _echo(cancel(store, rma, reason, actor=operator()))


@return_group.command(name="show")
@click.argument("rma")
@click.pass_context
def show_cmd(ctx: click.Context, rma: str) -> None:
    """One RMA with its lines (RMA-000123, or just 123)."""
    store = _store(ctx)
    with _reported():
        _echo(get_return(store, rma))


@return_group.command(name="list")
@click.argument("order")
@click.option("--channel", default=None, help="The order's channel, when its external id is on several.")
@click.pass_context
def list_cmd(ctx: click.Context, order: str, channel: str | None) -> None:
    """Every RMA of ORDER, oldest first."""
    store = _store(ctx)
    with _reported():
        oid, _ = _order(store, order, channel)
        views = returns_of(store, oid)
    if not views:
        click.echo(f"order {order} has no returns")
    for view in views:
        _echo(view)
