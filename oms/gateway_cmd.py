"""`oms gateway`: the daemon, configured from oms.toml.

    oms gateway            run until SIGTERM/SIGINT (each worker finishes the unit in hand)
    oms gateway --once     one pass of every worker, then exit

Exit codes: 0 done (or stopped cleanly), 1 a pass failed in --once mode, 2 the configuration is
wrong (the message names the key), 3 the store cannot be opened.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from types import FrameType

import click

__all__ = ["gateway"]

EXIT_OK, EXIT_PASS_FAILED, EXIT_CONFIG, EXIT_STORE = 0, 1, 2, 3


@click.command()
@click.option("--once", is_flag=True, help="One pass of every worker, then exit (cron, tests).")
@click.option("--log", "log_format", type=click.Choice(["json", "text"]), default=None,
              help="Log format on stderr (default: [gateway] log in oms.toml, else json).")
@click.pass_context
def gateway(ctx: click.Context, once: bool, log_format: str | None) -> None:
    """Bring orders in from partners' mailboxes and drop folders; deliver EDI documents; run the schedules."""
    from connectors.sftp import loose_permissions
    from gateway.daemon import Gateway
    from gateway.logs import configure
    from oms.cli import _config_path, _open
    from oms.config import ConfigFileError, to_gateway

    path = _config_path()
    config = ctx.obj["config"]  # read (and checked) once by the `oms` group
    if config is None:
        click.echo(f"no configuration at {path}: run `oms init` and add partners or folders", err=True)
        sys.exit(EXIT_CONFIG)
    try:
        settings, warnings = to_gateway(config, base=path.parent, env=os.environ)
    except ConfigFileError as exc:
        click.echo(f"oms gateway: {exc}", err=True)
        sys.exit(EXIT_CONFIG)
    configure(log_format or config.gateway.log)
    log = logging.getLogger("oms.gateway")
    if (why := loose_permissions(path, secret=False)) is not None:
        warnings.append(why)
    for w in warnings:
        log.warning(w)
    if not settings.mailboxes and not settings.folders:
        log.warning("no [partners.mailbox] and no [[folders]] in the configuration: only the schedules run")
    try:
        store = _open(ctx)
    except click.ClickException as exc:
        log.error("store not available", extra={"error": exc.message})
        sys.exit(EXIT_STORE)
    gw = Gateway(store, settings)
    if once:
        code = gw.run_once()
        store.dispose()
        sys.exit(code)
    stop = threading.Event()

    def _stop(signum: int, _frame: FrameType | None) -> None:
        log.info("stopping", extra={"signal": signal.Signals(signum).name})
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    gw.serve(stop)
    store.dispose()
    sys.exit(EXIT_OK)

