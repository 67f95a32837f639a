"""`oms`: init, demo, check, import, tui. A thin shell over the packages."""

from __future__ import annotations

import os
import sys
from importlib import resources
from pathlib import Path

import click

from store import ConfigError, Store, StoreError, check, data_dir, default_url, open_store, upgrade
from oms.config import Config, ConfigFileError, load_config, to_setup
from store.migrate import current_revision, head_revision
from store.setup import apply_setup

__all__ = ["main", "cli"]


def _open(ctx: click.Context, *, create: bool = False) -> Store:
    url = ctx.obj["url"]
    try:
        store = open_store(url)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc
    if create:
        upgrade(store)
    elif (revision := current_revision(store)) != head_revision():
        if revision is None:
            raise click.ClickException(f"no store at {store.url}: run `oms init` first")
        upgrade(store)  # an older schema: bring it forward, as `oms init` would
    return store


@click.group()
@click.option("--database", "url", envvar="OMS_DATABASE_URL", default=None,
              help="Database URL (default: SQLite in $OMS_HOME).")
@click.pass_context
def cli(ctx: click.Context, url: str | None) -> None:
    """oms: every order from every channel in one store."""
    config = _load_config()  # read once; commands find it in ctx.obj
    ctx.obj = {"url": url or (config.store.url if config is not None else None) or default_url(), "config": config}


class BadConfig(click.ClickException):
    """oms.toml is wrong: every command exits 2 with the message naming where."""

    exit_code = 2


def _config_path() -> Path:
    return Path(os.environ.get("OMS_CONFIG") or data_dir() / "oms.toml")


def _load_config() -> Config | None:
    path = _config_path()
    if not path.exists():
        return None
    try:
        return load_config(path)
    except ConfigFileError as exc:
        raise BadConfig(str(exc)) from exc


@cli.command()
@click.pass_context
def init(ctx: click.Context) -> None:
    """Create (or upgrade) the store, write a commented sample oms.toml if there is none, and
    apply its locations, channels and partners (run it again after editing the file)."""
    store = _open(ctx, create=True)
    path = _config_path()
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(resources.files("oms").joinpath("sample.toml").read_text())
        click.echo(f"wrote {path}")
    config = ctx.obj["config"] or _load_config()
    if config is not None:
        try:
            changes = apply_setup(store, to_setup(config))
        except StoreError as exc:
            raise BadConfig(f"{path}: {exc}") from exc
        for change in changes:
            click.echo(f"configured {change}")
    click.echo(f"store ready at {store.url} (schema {current_revision(store)})")


@cli.command()
@click.option("--orders", default=5000, show_default=True, help="How many demo orders to seed.")
@click.option("--skus", default=500, show_default=True)
@click.option("--no-tui", is_flag=True, help="Seed and print a summary; do not open the TUI.")
@click.option("--gateway-seconds", type=float, default=None,
              help="With --no-tui: run the gateway and the demo partner this long, then print what arrived.")
@click.pass_context
def demo(ctx: click.Context, orders: int, skus: int, no_tui: bool, gateway_seconds: float | None) -> None:
    """Seed a realistic demo store (once), start the gateway with a demo EDI partner whose 850s
    arrive every few seconds and fake Shopify, Amazon, WooCommerce and eBay APIs where shoppers
    buy, and open the operator TUI on it."""
    from sqlalchemy import func, select

    from oms.demo import seed
    from store.models import Order

    store = _open(ctx, create=True)
    with store.read() as conn:
        have = conn.execute(select(func.count()).select_from(Order)).scalar_one()
    if have:
        click.echo(f"demo store at {store.url} already holds {have} orders", err=True)
    else:
        summary = seed(store, orders=orders, skus=skus, progress=lambda m: click.echo(f"demo: {m}", err=True))
        click.echo(f"seeded {summary.orders} orders over {summary.skus} SKUs at {store.url}", err=True)
        for status, n in sorted((summary.statuses or {}).items()):
            click.echo(f"  {status:<18} {n:>6}", err=True)
    report = check(store)
    if not report.ok:
        raise click.ClickException("demo store failed `oms check`:\n" + "\n".join(map(str, report.problems)))
    if no_tui and gateway_seconds is None:
        return
    import threading

    from oms.tui_cmd import run_tui

    from oms.demo import start_demo_gateway

    with store.read() as conn:
        before = conn.execute(select(func.count()).select_from(Order)).scalar_one()
    stop = threading.Event()
    threads = start_demo_gateway(store, data_dir(), stop, every=5.0 if gateway_seconds is None else 1.0)
    try:
        if no_tui:
            stop.wait(gateway_seconds)
        else:
            run_tui(ctx, store)
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=30)
    if no_tui:
        with store.read() as conn:
            arrived = conn.execute(select(func.count()).select_from(Order)).scalar_one() - before
        click.echo(f"gateway: {arrived} orders arrived from the demo partner and the demo marketplaces "
                   f"(mailbox {data_dir() / 'mailboxes'}, log {data_dir() / 'gateway.log'})")


@cli.command(name="check")
@click.pass_context
def check_cmd(ctx: click.Context) -> None:
    """Prove stock levels equal the ledger and nothing is negative; exit 1 if not."""
    store = _open(ctx)
    report = check(store)
    click.echo(
        f"checked {report.levels} stock levels, {report.movements} movements, {report.reservations} active reservations"
    )
    if report.ok:
        click.echo("ok: levels equal the ledger, nothing negative, nothing oversold")
        return
    click.echo(f"{len(report.problems)} problem(s):", err=True)
    for problem in report.problems:
        click.echo(f"  {problem}", err=True)
    sys.exit(1)


@cli.group(name="import")
def import_group() -> None:
    """Bring data in from files."""


@import_group.command(name="orders")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.pass_context
def import_orders(ctx: click.Context, path: Path) -> None:
    """Import canonical orders from a JSON-lines file (one order per line).

    Exit status 0 when every line went in, 1 when any line was rejected.
    """
    from connectors import ConnectorError
    from connectors.jsonl import import_jsonl

    store = _open(ctx)
    try:
        result = import_jsonl(store, path, actor=os.environ.get("USER", "import"))
    except (ConnectorError, StoreError) as exc:
        raise click.ClickException(str(exc)) from exc
    if result.duplicate:
        click.echo(f"{path}: already imported as document {result.document_id} ({result.state}); nothing to do")
        return
    click.echo(
        f"{path}: document {result.document_id} {result.state}: {result.created} created, {result.updated} updated, "
        f"{result.unchanged} unchanged, {result.conflicts} conflicts, {len(result.problems)} rejected"
    )
    if result.unknown_items:
        click.echo(f"  {result.unknown_items} order(s) wait in the unknown_item queue for a SKU mapping")
    for p in result.problems:
        click.echo(f"  line {p.position}: {p.reason}", err=True)
    if result.problems:
        sys.exit(1)


def main() -> None:
    cli(prog_name="oms")


def _register() -> None:
    from oms.channels_cmd import channel
    from oms.tui_cmd import ssh_setup, tui
    from oms.dropship_cmd import dropship
    from oms.edi import edi
    from oms.gateway_cmd import gateway
    from oms.report_cmd import report
    from oms.orders_cmd import COMMANDS as order_commands
    from oms.returns_cmd import return_group
    from oms.route_cmd import route

    cli.add_command(edi)
    cli.add_command(gateway)
    cli.add_command(return_group)
    cli.add_command(route)
    for command in order_commands:
        cli.add_command(command)
    cli.add_command(dropship)
    cli.add_command(report)
    cli.add_command(channel)
    cli.add_command(tui)
    cli.add_command(ssh_setup)


_register()
