"""Command palette entries that depend on what is on screen.

`ActionCommands` offers every action of the screen in front (its keys and those of the
focused widget), greyed-out ones left out, plus the main screens; `OrderCommands` offers the
order list's filters with their counts.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider

from .labels import FILTER_KEYS, filter_title

__all__ = ["ActionCommands", "OrderCommands"]

_Command = tuple[str, Callable[[], object], str]

# Moving a cursor or scrolling is not something to look up in a palette.
_NOT_OFFERED = ("cursor_", "scroll_", "command_palette", "toggle_keys")


class _Listed(Provider):
    def _commands(self) -> list[_Command]:
        raise NotImplementedError

    async def discover(self) -> Hits:
        for name, callback, help_text in self._commands():
            yield DiscoveryHit(name, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, callback, help_text in self._commands():
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(name), callback, help=help_text)


class ActionCommands(_Listed):
    """Every action the screen in front offers by key, and the main screens."""

    def _commands(self) -> list[_Command]:
        from .app import SCREENS_BY_MODE

        screen, app = self.screen, self.app
        commands: list[_Command] = []
        seen: set[str] = set()
        for key, active in screen.active_bindings.items():
            binding = active.binding
            if not binding.description or not active.enabled or binding.action.startswith(_NOT_OFFERED):
                continue
            if binding.action in seen or binding.action.startswith("go("):
                continue
            seen.add(binding.action)
            name = f"{screen_title(screen)}: {binding.description} ({app.get_key_display(binding)})"
            commands.append((name, partial(app.run_action, binding.action, active.node),
                             binding.tooltip or binding.description))
        for mode, (key, title) in SCREENS_BY_MODE.items():
            commands.append((f"Go to {title} ({key.upper()})", partial(app.run_action, f"go({mode!r})"),
                             f"Show the {title} screen"))
        return commands


def screen_title(screen: object) -> str:
    """The name a screen goes by in the palette (its `TITLE`, else its class name)."""
    return str(getattr(screen, "PALETTE_TITLE", None) or type(screen).__name__.removesuffix("Screen"))


class OrderCommands(_Listed):
    """On the order list: switch to another filter (with its count) or reload."""

    def _commands(self) -> list[_Command]:
        from .screens.orders import OrdersScreen

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
        return commands
