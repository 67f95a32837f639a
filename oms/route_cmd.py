"""`oms route`: replay past routing decisions against other rules, or explain an order's."""

from __future__ import annotations

import datetime as dt
import os
import sys
from pathlib import Path

import click
from sqlalchemy import Connection, select

from oms.config import ConfigFileError, load_routing
from oms.session import operator
from store import Store, StoreError
from store.intake import route_open_units
from store.orders import find_order
from store.models import Channel, Order, RoutingDecision
from store.routing.explain import explain_lines
from store.routing.replay import ReplayReport, Totals, replay

__all__ = ["route"]


def _money(minor: int) -> str:
    return f"{minor / 100:,.2f}"


def _day(value: str, name: str) -> dt.datetime:
    try:
        return dt.datetime.combine(dt.date.fromisoformat(value), dt.time(), tzinfo=dt.timezone.utc)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)", param_hint=name) from None


def _totals_table(report: ReplayReport, rules_name: str) -> list[str]:
    def row(label: str, a: object, b: object) -> str:
        return f"  {label:<24}{a!s:>14}{b!s:>14}"

    live, new = report.live, report.replayed
    out = [row("", "live", rules_name[:14])]
    for outcome in ("allocated", "split", "backordered", "held", "cancelled", "unroutable"):
        if live.outcomes[outcome] or new.outcomes[outcome]:
            out.append(row(outcome, f"{live.outcomes[outcome]:,}", f"{new.outcomes[outcome]:,}"))
    out.append(row("backordered units", f"{live.backordered_units:,}", f"{new.backordered_units:,}"))

    def cost(t: Totals) -> str:
        return f"{_money(t.cost_minor)} ({t.cost_known:,})" if t.cost_known else "unknown"

    out.append(row("estimated cost (orders)", cost(live), cost(new)))
    return out


@click.command()
@click.option("--dry-run", is_flag=True, help="Replay past decisions against --rules; change nothing.")
@click.option("--since", help="Replay orders first routed on or after this day (YYYY-MM-DD).")
@click.option("--until", help="... and before this day.")
@click.option("--rules", "rules_path", type=click.Path(dir_okay=False, path_type=Path),
              help="A TOML file with a [routing] section (default: the current oms.toml).")
@click.option("--show", default=20, show_default=True, help="How many changed orders to list.")
@click.option("--workers", type=click.IntRange(1, 64), default=os.cpu_count() or 1, show_default="CPU count",
              help="Processes replaying side by side.")
@click.option("--explain", "explain_ref", metavar="ORDER", help="Print why ORDER (external id) went where it did.")
@click.option("--again", "again_ref", metavar="ORDER",
              help="Route again what is open on ORDER (an unroutable order after a rule or location changed).")
@click.option("--channel", help="With --explain or --again: the order's channel, when the id is not unique.")
@click.pass_context
def route(ctx: click.Context, dry_run: bool, since: str | None, until: str | None, rules_path: Path | None,
          show: int, workers: int, explain_ref: str | None, again_ref: str | None, channel: str | None) -> None:
    """Replay routing against other rules (--dry-run), explain one order's routing (--explain),
    or route an order's open units again (--again)."""
    from oms.cli import BadConfig, _config_path, _open

    if explain_ref is not None:
        _explain(_open(ctx), explain_ref, channel)
        return
    if again_ref is not None:
        store = _open(ctx)
        actor = operator()

        def _again(conn: Connection) -> str:
            return route_open_units(conn, find_order(conn, again_ref, channel), trigger="operator", actor=actor)

        try:
            status = store.run(_again)
        except StoreError as exc:
            raise BadConfig(str(exc)) from exc
        click.echo(f"{again_ref}: {status}")
        _explain(store, again_ref, channel)
        return
    if not dry_run:
        raise click.UsageError("say --dry-run to replay past orders against rules, --explain ORDER or --again ORDER")
    if since is None:
        raise click.UsageError("--dry-run needs --since DATE")
    path = rules_path or _config_path()
    try:
        rules = load_routing(path)
    except ConfigFileError as exc:
        raise BadConfig(str(exc)) from exc
    store = _open(ctx)
    started = dt.datetime.now()
    report = replay(store, rules, since=_day(since, "--since"), until=_day(until, "--until") if until else None,
                    keep=show, workers=workers, progress=lambda n: click.echo(f"replayed {n:,}", err=True))
    took = (dt.datetime.now() - started).total_seconds()
    click.echo(f"replayed {report.orders:,} orders routed since {since} against {path} (rules {rules.digest}) "
               f"in {took:.1f} s")
    click.echo(f"unchanged: {report.unchanged:,}   changed: {report.changed:,}")
    for line in _totals_table(report, path.name):
        click.echo(line)
    if report.changes:
        click.echo(f"changed orders (first {min(show, len(report.changes))} of {report.changed:,}):")
        for c in report.changes[:show]:
            cost = ""
            if c.cost_before != c.cost_after:
                before = _money(c.cost_before) if c.cost_before is not None else "?"
                after = _money(c.cost_after) if c.cost_after is not None else "?"
                cost = f"   cost {before} -> {after}"
            click.echo(f"  {c.channel}/{c.external_id}: {c.before}  ->  {c.after}{cost}")


def _explain(store: Store, ref: str, channel: str | None) -> None:
    with store.read() as conn:
        try:
            oid = find_order(conn, ref, channel)
        except StoreError as exc:
            raise click.ClickException(str(exc)) from exc
        code, ext, status = conn.execute(
            select(Channel.code, Order.external_id, Order.status).join(Channel, Channel.id == Order.channel_id)
            .where(Order.id == oid)).one()
        rows = conn.execute(select(RoutingDecision).where(RoutingDecision.order_id == oid)
                            .order_by(RoutingDecision.id)).all()
    click.echo(f"{code}/{ext} ({status})")
    if not rows:
        click.echo("  never routed (an unknown item, or nothing to place)")
    for d in rows:
        cost = _money(d.cost_minor) if d.cost_minor is not None else None
        for line in explain_lines(at=d.at, trigger=d.trigger, outcome=d.outcome, rule=d.rule, cost=cost,
                                  explanation=d.explanation):
            click.echo(f"  {line}")
    sys.stdout.flush()


