"""`oms dropship list | sent | send`: purchase orders to dropship vendors, for an operator.

    oms dropship list                  open POs (those waiting for someone to send them)
    oms dropship list --status all     every PO; --order W-1001 for one order's
    oms dropship sent DS000001         you sent it yourself (a vendor without EDI): it is sent
    oms dropship send DS000001         queue its 850 again (an EDI vendor, after fixing what kept it back)

Exit codes: 0 done, 1 the 850 could not be queued (the reasons are printed and the order is in
the edi_invalid queue, or the vendor takes no 850), 2 no such PO or it cannot be done to it.
"""

from __future__ import annotations

import os
import sys

import click
from sqlalchemy import select

from store.errors import StoreError
from store.models import Order

__all__ = ["dropship"]


class _BadInput(click.ClickException):
    exit_code = 2


def _actor() -> str:
    return os.environ.get("USER", "operator")


@click.group()
def dropship() -> None:
    """Purchase orders to dropship vendors."""


@dropship.command(name="list")
@click.option("--status", type=click.Choice(["open", "sent", "acknowledged", "shipped", "cancelled", "all"]),
              default="open", show_default=True, help="Which POs to list.")
@click.option("--order", "external_id", default=None, help="Only this order's POs (its external id).")
@click.pass_context
def list_cmd(ctx: click.Context, status: str, external_id: str | None) -> None:
    """POs with their lines and the customer's ship-to: what to send a vendor by hand."""
    from oms.cli import _open
    from store.dropship import dropship_orders

    store = _open(ctx)
    with store.read() as conn:
        order_ids: list[int | None] = [None]
        if external_id is not None:
            order_ids = list(conn.execute(select(Order.id).where(Order.external_id == external_id)).scalars())
            if not order_ids:
                raise _BadInput(f"no order {external_id!r}")
        pos = [po for oid in order_ids
               for po in dropship_orders(conn, oid, statuses=None if status == "all" else [status])]
        ship_to = {r.id: r for r in conn.execute(select(
            Order.id, Order.ship_to_name, Order.ship_to_address1, Order.ship_to_address2, Order.ship_to_city,
            Order.ship_to_region, Order.ship_to_postal_code, Order.ship_to_country,
        ).where(Order.id.in_({po.order_id for po in pos})))}
    if not pos:
        click.echo(f"no {'' if status == 'all' else status + ' '}dropship POs")
        return
    for po in pos:
        vendor = f"EDI partner {po.vendor}" if po.vendor else "no EDI: send it yourself, then `oms dropship sent`"
        click.echo(f"{po.number}  {po.status:<12} order {po.order}  location {po.location} ({vendor})  "
                   f"{po.created_at:%Y-%m-%d %H:%M} UTC")
        to = ship_to[po.order_id]
        place = " ".join(x for x in (to.ship_to_city, to.ship_to_region, to.ship_to_postal_code, to.ship_to_country) if x)
        click.echo("  ship to: " + ", ".join(x for x in (to.ship_to_name, to.ship_to_address1, to.ship_to_address2,
                                                          place) if x))
        for ln in po.lines:
            click.echo(f"  line {ln.line_no:>3}  {ln.sku or '?':<20} x {ln.qty}")


@dropship.command()
@click.argument("number")
@click.pass_context
def sent(ctx: click.Context, number: str) -> None:
    """Record that you sent PO NUMBER to its vendor yourself (mail, the vendor's portal)."""
    from oms.cli import _open
    from store.dropship import find_dropship, mark_sent

    store = _open(ctx)
    try:
        with store.read() as conn:
            po = find_dropship(conn, number)
        mark_sent(store, po.id, actor=_actor())
    except StoreError as exc:
        raise _BadInput(str(exc)) from exc
    click.echo(f"{po.number} sent")


@dropship.command()
@click.argument("number")
@click.pass_context
def send(ctx: click.Context, number: str) -> None:
    """Queue the 850 for PO NUMBER (an EDI vendor); the gateway uploads it."""
    from edi_maps.errors import EdiError
    from edi_maps.outgoing import queue_850
    from oms.cli import _open
    from store.dropship import find_dropship

    store = _open(ctx)
    try:
        with store.read() as conn:
            po = find_dropship(conn, number)
        result = queue_850(store, po.id, actor=_actor())
    except (StoreError, EdiError) as exc:
        raise _BadInput(str(exc)) from exc
    if result.status == "queued":
        click.echo(f"{po.number}: 850 queued for {po.vendor} (interchange {result.control_number or 0:09d})")
    elif result.status == "already_queued":
        click.echo(f"{po.number}: its 850 is already in the outbox")
    else:
        click.echo(f"{po.number}: 850 {result.status.replace('_', ' ')}: " + "; ".join(result.reasons), err=True)
        sys.exit(1)
