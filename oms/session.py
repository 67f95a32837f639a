"""What every operator command needs: the store for one command, and who is acting."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

import click

from store import Store

__all__ = ["opened", "operator"]


def operator(env: Mapping[str, str] | None = None) -> str:
    """The operator named in the audit trail: the one an SSH key's forced command names
    (`OMS_OPERATOR`, see `oms ssh-setup`), else the login name."""
    env = os.environ if env is None else env
    return env.get("OMS_OPERATOR") or env.get("USER") or env.get("LOGNAME") or "operator"


@contextmanager
def opened(ctx: click.Context) -> Iterator[Store]:
    """The store for one command, closed again when it is done."""
    from oms.cli import _open

    store = _open(ctx)
    try:
        yield store
    finally:
        store.dispose()
