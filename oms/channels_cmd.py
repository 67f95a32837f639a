"""`oms channel status | resume | repush`: marketplace and cart channels, for their admin.

    oms channel status                 each API channel: how far its orders are in, whether it
                                       is paused (a spent daily quota) and why, stock pushes owed
    oms channel status shopify-main    and each listing: the quantity the channel last accepted,
                                       a push still owed, the channel's last refusal
    oms channel resume ebay            call the channel again before its pause ends
    oms channel repush shopify-main    send every listed quantity again (after fixing listings)

Exit codes: 0 done, 2 no such channel.
"""

from __future__ import annotations

import click
from sqlalchemy import select

from oms.session import opened, operator
from store.errors import NotFound

__all__ = ["channel"]


class _BadInput(click.ClickException):
    exit_code = 2


@click.group()
def channel() -> None:
    """Marketplace and cart channels polled over their APIs."""


@channel.command(name="status")
@click.argument("code", required=False)
@click.pass_context
def status_cmd(ctx: click.Context, code: str | None) -> None:
    """Where each API channel's sync got to, pauses, and stock pushes owed."""
    from store.channel_sync import load_sync
    from store.models import Channel
    from store.stock_sync import listings, pending_pushes

    with opened(ctx) as store:
        with store.read() as conn:
            rows = [(c, cfg) for c, cfg in conn.execute(select(Channel.code, Channel.config).order_by(Channel.code))
                    if (cfg or {}).get("connector") and (code is None or c == code)]
        if code is not None and not rows:
            raise _BadInput(f"no API channel {code!r} (a [[channels]] entry with a connector)")
        for c, cfg in rows:
            state = load_sync(store, c)
            seen = f"{state.watermark:%Y-%m-%d %H:%M:%S} UTC" if state.watermark else "never"
            click.echo(f"{c} ({cfg['connector']}): orders in up to {seen}; "
                       f"{pending_pushes(store, c)} stock pushes owed")
            if state.window is not None:
                click.echo(f"  reading {state.window[0]:%Y-%m-%d %H:%M:%S} .. {state.window[1]:%H:%M:%S}"
                           + (f" ({len(state.pending)} parts left)" if state.pending else ""))
            if state.paused_until is not None:
                click.echo(f"  PAUSED until {state.paused_until:%Y-%m-%d %H:%M} UTC: {state.pause_reason}")
            if code is not None:
                for item in listings(store, c):
                    last = "-" if item.last_qty is None else str(item.last_qty)
                    extra = (" push owed" if item.pending else "") + (f"  refused: {item.last_error}"
                                                                       if item.last_error else "")
                    click.echo(f"  {item.sku:<24} shown {last:>6}{extra}")


@channel.command(name="resume")
@click.argument("code")
@click.pass_context
def resume_cmd(ctx: click.Context, code: str) -> None:
    """Lift a pause (the gateway calls the channel again on its next pass)."""
    from store.channel_sync import resume_channel

    with opened(ctx) as store:
        resume_channel(store, code, actor=operator())
    click.echo(f"{code}: resumed")


@channel.command(name="repush")
@click.argument("code")
@click.pass_context
def repush_cmd(ctx: click.Context, code: str) -> None:
    """Send every listed quantity to the channel again."""
    from store.stock_sync import mark_all

    with opened(ctx) as store:
        try:
            n = mark_all(store, code)
        except NotFound as exc:
            raise _BadInput(str(exc)) from exc
    click.echo(f"{code}: {n} listings will be pushed again")
