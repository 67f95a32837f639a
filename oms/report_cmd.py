"""`oms report`: the KPIs of a period per channel, as a table or as CSV.

    oms report                                   the last 30 days (UTC), every channel
    oms report --since 2026-11-01 --until 2026-11-30 --channel amazon-us
    oms report --csv kpis.csv                    the table, and the same figures as CSV
    oms report --csv - --orders                  one CSV row per order, on stdout

Exit codes: 0 done, 1 the store cannot be read, 2 bad input (dates, an unknown channel).
CSV text cells that a spreadsheet would run as a formula (starting with = + - @, a tab or a
carriage return) get a leading apostrophe; numbers, negative ones too, stay numbers.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
from collections.abc import Callable, Sequence
from decimal import Decimal
from pathlib import Path

import click

from connectors.csv_profiles import formula_safe
from store.errors import NotFound, StoreError
from store.kpis import ALL_CHANNELS, ChannelKpis, KpiReport, OrderFact, kpi_report, order_facts
from store.money import currency_exponent
from store.views import format_money

__all__ = ["report", "summary_rows", "order_rows", "csv_text", "table_text"]

_UTC = dt.timezone.utc
_ALL_LABEL = "(all)"


class _BadInput(click.ClickException):
    exit_code = 2


@click.command()
@click.option("--since", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="First day of the period (UTC), orders received from then. Default: 29 days before --until.")
@click.option("--until", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="Last day of the period (UTC), included. Default: today.")
@click.option("--channel", default=None, help="Only this channel (its code).")
@click.option("--sla-days", type=click.IntRange(min=0), default=2, show_default=True,
              help="Days after the order an order without a requested ship date is due to ship.")
@click.option("--csv", "csv_path", default=None, metavar="FILE|-",
              help="Also write the figures as CSV to FILE; `-` writes only the CSV, on stdout.")
@click.option("--orders", "per_order", is_flag=True,
              help="With --csv: one row per order (what each KPI counted) instead of one per channel.")
@click.pass_context
def report(ctx: click.Context, since: dt.datetime | None, until: dt.datetime | None, channel: str | None,
           sla_days: int, csv_path: str | None, per_order: bool) -> None:
    """KPIs of the orders received in a period, per channel: order-to-ship time, on-time ship
    rate, cancellations, backorder and oversell incidents, returns, cost per order."""
    from oms.cli import _open

    if per_order and csv_path is None:
        raise _BadInput("--orders lists orders as CSV: give --csv FILE (or --csv - for stdout)")
    last = until.date() if until is not None else dt.datetime.now(_UTC).date()
    first = since.date() if since is not None else last - dt.timedelta(days=29)
    if first > last:
        raise _BadInput(f"--since {first} is after --until {last}")
    start = dt.datetime.combine(first, dt.time(), _UTC)
    end = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), _UTC)
    store = _open(ctx)
    try:
        kpis = kpi_report(store, start, end, sla_days=sla_days, channel=channel)
        facts = order_facts(store, start, end, sla_days=sla_days, channel=channel) if per_order else None
    except NotFound as exc:
        raise _BadInput(str(exc)) from exc
    except StoreError as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        store.dispose()
    rows = order_rows(facts) if facts is not None else summary_rows(kpis)
    if csv_path == "-":
        click.echo(csv_text(rows), nl=False)
        return
    click.echo(table_text(kpis, first, last))
    if csv_path is not None:
        path = Path(csv_path)
        try:
            path.write_bytes(codecs.BOM_UTF8 + csv_text(rows).encode("utf-8"))
        except OSError as exc:
            raise click.ClickException(f"cannot write {path}: {exc.strerror or exc}") from exc
        click.echo(f"wrote {len(rows) - 1} row(s) to {path}", err=True)


# ------------------------------------------------------------------------------------ CSV

Cell = str | int | float | Decimal | bool | dt.date | None


def _cell(value: Cell) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, (int, float, Decimal)):
        return str(value)  # a number, negative or not, is never a formula
    if isinstance(value, dt.datetime):
        return value.astimezone(_UTC).strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, dt.date):
        return value.isoformat()
    return formula_safe(value)


def csv_text(rows: Sequence[Sequence[Cell]]) -> str:
    """RFC 4180 text (CRLF); text cells made safe to open in a spreadsheet."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    for row in rows:
        writer.writerow([_cell(c) for c in row])
    return out.getvalue()


def _pct(rate: float | None) -> float | None:
    return None if rate is None else round(rate * 100, 1)


def _hours(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def _money(minor: float | int | None, currency: str | None) -> Decimal | None:
    """Minor units as a decimal amount in the currency's major unit (`1250` USD -> `12.50`)."""
    if minor is None or currency is None:
        return None
    exponent = currency_exponent(currency)
    return (Decimal(str(minor)) / 10**exponent).quantize(Decimal(1).scaleb(-exponent))


_SUMMARY: tuple[tuple[str, Callable[[ChannelKpis], Cell]], ...] = (
    ("currency", lambda k: k.currency),
    ("orders", lambda k: k.orders),
    ("replacements", lambda k: k.replacements),
    ("shipped", lambda k: k.shipped),
    ("picked_up", lambda k: k.picked_up),
    ("hours_to_ship_median", lambda k: _hours(k.hours_to_ship.median)),
    ("hours_to_ship_p90", lambda k: _hours(k.hours_to_ship.p90)),
    ("hours_to_ship_mean", lambda k: _hours(k.hours_to_ship.mean)),
    ("on_time", lambda k: k.on_time),
    ("on_time_pct", lambda k: _pct(k.on_time_rate)),
    ("overdue_unshipped", lambda k: k.overdue_unshipped),
    ("cancelled", lambda k: k.cancelled),
    ("cancelled_pct", lambda k: _pct(k.cancellation_rate)),
    ("partly_cancelled", lambda k: k.partly_cancelled),
    ("units_partly_cancelled", lambda k: k.units_partly_cancelled),
    ("units_ordered", lambda k: k.units_ordered),
    ("backorder_incidents", lambda k: k.backordered),
    ("oversell_incidents", lambda k: k.oversold),
    ("units_shipped", lambda k: k.units_shipped),
    ("units_returned", lambda k: k.units_returned),
    ("units_return_authorised", lambda k: k.units_return_authorised),
    ("return_pct", lambda k: _pct(k.return_rate)),
    ("rmas", lambda k: k.rmas),
    ("rmas_per_shipped_order", lambda k: None if k.rmas_per_shipped_order is None else round(k.rmas_per_shipped_order, 3)),
    ("orders_with_cost", lambda k: k.costed),
    ("orders_without_cost", lambda k: k.uncosted),
    ("cost_per_order", lambda k: _money(k.cost_per_order_minor, k.currency)),
)


def summary_rows(kpis: KpiReport) -> list[list[Cell]]:
    """A header, then one row per channel and one for all of them."""
    until = (kpis.until - dt.timedelta(days=1)).date()
    rows: list[list[Cell]] = [["since", "until", "sla_days", "channel", *(name for name, _ in _SUMMARY)]]
    for k in (*kpis.channels, kpis.overall):
        label = _ALL_LABEL if k.channel == ALL_CHANNELS else k.channel
        rows.append([kpis.since.date(), until, kpis.sla_days, label, *(get(k) for _, get in _SUMMARY)])
    return rows


_ORDER_HEADER = (
    "order_id", "channel", "external_id", "buyer_name", "status", "received_at_utc", "placed_at_utc",
    "requested_ship_date", "first_shipped_at_utc", "hours_to_ship", "on_time", "units_ordered", "units_shipped",
    "units_cancelled", "cancelled", "cancel_reason", "backordered", "oversold", "rmas", "units_returned", "cost",
    "currency", "fulfilment", "origin_kind", "overdue",
)


def order_rows(facts: Sequence[OrderFact]) -> list[list[Cell]]:
    rows: list[list[Cell]] = [list(_ORDER_HEADER)]
    for f in facts:
        rows.append([
            f.order_id, f.channel, f.external_id, f.buyer_name, f.status, f.received_at, f.placed_at,
            f.requested_ship_date, f.first_shipped_at, _hours(f.hours_to_ship), f.on_time, f.units_ordered,
            f.units_shipped, f.units_cancelled, f.cancelled, f.cancel_reason, f.backordered, f.oversold, f.rmas,
            f.units_returned, _money(f.cost_minor, f.currency), f.currency, f.fulfilment, f.origin_kind, f.overdue,
        ])
    return rows


# ---------------------------------------------------------------------------------- table


def _ratio(part: int, whole: int, rate: float | None) -> str:
    return "-" if rate is None else f"{rate * 100:.1f}% ({part}/{whole})"


def _h(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f} h"


def _cost(k: ChannelKpis) -> str:
    avg = k.cost_per_order_minor
    if avg is None:
        return "-"
    if k.currency is None:
        return "mixed currencies"
    return format_money(round(avg), k.currency)


_TABLE: tuple[tuple[str, Callable[[ChannelKpis], str]], ...] = (
    ("orders received", lambda k: str(k.orders)),
    ("  replacements (apart)", lambda k: str(k.replacements)),
    ("shipped", lambda k: str(k.shipped)),
    ("picked up", lambda k: str(k.picked_up)),
    ("order to ship, median", lambda k: _h(k.hours_to_ship.median)),
    ("order to ship, p90", lambda k: _h(k.hours_to_ship.p90)),
    ("order to ship, mean", lambda k: _h(k.hours_to_ship.mean)),
    ("on-time ship rate", lambda k: _ratio(k.on_time, k.shipped, k.on_time_rate)),
    ("  not shipped, overdue", lambda k: str(k.overdue_unshipped)),
    ("cancellation rate", lambda k: _ratio(k.cancelled, k.orders, k.cancellation_rate)),
    ("partly cancelled orders", lambda k: str(k.partly_cancelled)),
    ("  their cancelled units", lambda k: str(k.units_partly_cancelled)),
    ("backorder incidents", lambda k: str(k.backordered)),
    ("oversell incidents", lambda k: str(k.oversold)),
    ("return rate (units)", lambda k: _ratio(k.units_returned, k.units_shipped, k.return_rate)),
    ("RMAs per order delivered",
     lambda k: "-" if k.rmas_per_shipped_order is None
     else f"{k.rmas_per_shipped_order:.2f} ({k.rmas}/{k.shipped + k.picked_up})"),
    ("cost per shipped order", _cost),
    ("  shipped, cost unknown", lambda k: str(k.uncosted)),
)


def table_text(kpis: KpiReport, first: dt.date, last: dt.date) -> str:
    """KPIs down, channels across (then all of them), for a terminal."""
    columns = list(kpis.channels)
    if len(columns) != 1:
        columns.append(kpis.overall)
    heads = [_ALL_LABEL if k.channel == ALL_CHANNELS else k.channel for k in columns]
    cells = [[get(k) for k in columns] for _, get in _TABLE]
    label_w = max(len(label) for label, _ in _TABLE)
    widths = [max(len(h), *(len(row[i]) for row in cells)) for i, h in enumerate(heads)]
    lines = [
        f"KPIs of the orders received {first} .. {last} (UTC)",
        f"on time: shipped by the requested ship date, else within {kpis.sla_days} day(s) of the order"
        " (UTC days; over shipped orders, the overdue unshipped ones shown apart)",
        "",
        " " * label_w + "".join(f"  {h:>{w}}" for h, w in zip(heads, widths)),
    ]
    for (label, _), row in zip(_TABLE, cells):
        lines.append(f"{label:<{label_w}}" + "".join(f"  {c:>{w}}" for c, w in zip(row, widths)))
    if not kpis.channels:
        lines.append("(no orders received in this period)")
    return "\n".join(lines)
