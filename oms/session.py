"""What every operator command needs: the store for one command, and who is acting."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import click

from store import Store

__all__ = ["opened", "operator"]


def operator() -> str:
    """The operator named in the audit trail: the login name (the TUI over SSH sets its own)."""
    return os.environ.get("USER") or "operator"


@contextmanager
def opened(ctx: click.Context) -> Iterator[Store]:
    """The store for one command, closed again when it is done."""
    from oms.cli import _open

    store = _open(ctx)
    try:
        yield store
    finally:
        store.dispose()
