"""Command palette entries that depend on what is on screen."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider

from .labels import FILTER_KEYS, filter_title
from .screens.orders import OrdersScreen

__all__ = ["OrderCommands"]

_Command = tuple[str, Callable[[], object], str]


class OrderCommands(Provider):
    """On the order list: switch to another filter (with its count) or reload."""

    def _commands(self) -> list[_Command]:
        screen = self.screen
        if not isinstance(screen, OrdersScreen):
            return []
        commands: list[_Command] = []
        for key in FILTER_KEYS:
            if key == screen.filter_key:
                continue
            count = screen.counts.get(key)
            suffix = "" if count is None else f" ({count:,})"
            commands.append(
                (f"Orders: {filter_title(key)}{suffix}", partial(screen.action_show_orders, key),
                 f"Show {filter_title(key).lower()} in the order list")
            )
        commands.append(("Orders: reload", screen.action_reload, "Run the filter again and refresh the counts"))
        return commands

    async def discover(self) -> Hits:
        for name, callback, help_text in self._commands():
            yield DiscoveryHit(name, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, callback, help_text in self._commands():
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(name), callback, help=help_text)
