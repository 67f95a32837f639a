"""`oms dropship list | sent | send`: purchase orders to dropship vendors, for an operator.

    oms dropship list                  open POs (those waiting for someone to send them)
    oms dropship list --status all     every PO; --order W-1001 [--channel web] for one order's
    oms dropship sent DS000001         you sent it yourself (a vendor without EDI): it is sent
    oms dropship send DS000001         queue its 850 (an EDI vendor, after fixing what kept it
                                       back), or say where its 850 is; a dead 850 is put back

A cancelled PO the vendor may already have (it was sent, or its 850 was going) is listed with
"tell the vendor": nothing tells them for us.

Exit codes: 0 done, 1 the 850 could not be queued (the reasons are printed and the order is in
the edi_invalid queue, or the vendor takes no 850), 2 no such PO or order, or it cannot be done
to it (say, its 850 is still in the outbox, or its order is on hold).
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import click
from sqlalchemy import select

from oms.session import opened, operator
from store import Store
from store.errors import StoreError
from store.models import Order

if TYPE_CHECKING:
    from store.dropship import DropshipPO

__all__ = ["dropship"]


class _BadInput(click.ClickException):
    exit_code = 2




@click.group()
def dropship() -> None:
    """Purchase orders to dropship vendors."""


@dropship.command(name="list")
@click.option("--status", type=click.Choice(["open", "sent", "acknowledged", "shipped", "cancelled", "all"]),
              default="open", show_default=True, help="Which POs to list.")
@click.option("--order", "ref", default=None, help="Only this order's POs (its external id, or #id).")
@click.option("--channel", default=None, help="The order's channel, when its id is on several.")
@click.pass_context
def list_cmd(ctx: click.Context, status: str, ref: str | None, channel: str | None) -> None:
    """POs with their lines and the customer's ship-to: what to send a vendor by hand."""
    from store.dropship import dropship_orders
    from store.orders import find_order

    with opened(ctx) as store, store.read() as conn:
        order_id: int | None = None
        if ref is not None:
            try:
                order_id = find_order(conn, ref, channel)
            except StoreError as exc:
                raise _BadInput(str(exc)) from exc
        pos = dropship_orders(conn, order_id, statuses=None if status == "all" else [status])
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
        if po.tell_vendor:
            click.echo("  tell the vendor: it may already have this PO, and nothing has told it of the cancellation")
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
    from store.dropship import find_dropship, mark_sent

    with opened(ctx) as store:
        try:
            with store.read() as conn:
                po = find_dropship(conn, number)
            mark_sent(store, po.id, actor=operator())
        except StoreError as exc:
            raise _BadInput(str(exc)) from exc
    click.echo(f"{po.number} sent")


@dropship.command()
@click.argument("number")
@click.pass_context
def send(ctx: click.Context, number: str) -> None:
    """Queue the 850 for PO NUMBER (an EDI vendor); the gateway uploads it. When it is queued
    already, say where it is; a dead one (the gateway gave up) goes back to pending."""
    from edi_maps.errors import EdiError
    from edi_maps.outgoing import queue_850
    from store.dropship import find_dropship

    with opened(ctx) as store:
        try:
            with store.read() as conn:
                po = find_dropship(conn, number)
            result = queue_850(store, po.id, actor=operator())
            where = _where_850(store, po, result.key) if result.status == "already_queued" else ""
        except (StoreError, EdiError) as exc:
            raise _BadInput(str(exc)) from exc
    if result.status == "queued":
        click.echo(f"{po.number}: 850 queued for {po.vendor} (interchange {result.control_number or 0:09d})")
    elif result.status == "already_queued":
        click.echo(f"{po.number}: {where}")
    else:
        click.echo(f"{po.number}: 850 {result.status.replace('_', ' ')}: " + "; ".join(result.reasons), err=True)
        sys.exit(1)


def _where_850(store: Store, po: DropshipPO, key: str) -> str:
    """Where the PO's 850 (outbox row `key`) is, in words; a dead one is put back first."""
    from store.dropship import outbox_rows, rearm_850

    with store.read() as conn:
        row = next((r for r in outbox_rows(conn, po.id) if r.key == key), None)
    if row is None:
        return "its 850 is already in the outbox"
    if row.state == "dead":
        after = rearm_850(store, po.id, actor=operator())
        return (f"its 850 had stopped (dead after {row.attempts} attempts: {row.last_error or 'no error kept'}); "
                f"back in the outbox ({after.state if after else 'gone'}) for the gateway's next pass")
    if row.state == "sent":
        when = f" at {row.sent_at:%Y-%m-%d %H:%M} UTC" if row.sent_at else ""
        return f"its 850 was sent to {po.vendor}{when}"
    if row.state == "failed":
        return (f"its 850 failed {row.attempts} times ({row.last_error or 'no error kept'}); the gateway tries "
                f"again at {row.next_attempt_at:%Y-%m-%d %H:%M} UTC")
    if row.state == "sending":
        return "its 850 is being sent by the gateway now"
    return f"its 850 is in the outbox ({row.state}), waiting for the gateway"
