"""What every oms screen shares: the app's store and operator, role-checked keys, reloads."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, ClassVar, TypeVar

from textual.screen import ModalScreen, Screen

from store import Store

from ..access import Operator

if TYPE_CHECKING:
    from ..app import OmsApp

__all__ = ["OmsModal", "OmsScreen"]

R = TypeVar("R")


class _Shared:
    """Mixed into both screen kinds. `NEEDS` maps an action name to the role it needs; keys
    for actions the operator's role does not allow are shown greyed out and do nothing."""

    NEEDS: ClassVar[Mapping[str, str]] = {}

    @property
    def oms(self) -> OmsApp:
        return self.app  # type: ignore[attr-defined]

    @property
    def store(self) -> Store:
        return self.oms.store

    @property
    def operator(self) -> Operator:
        return self.oms.operator

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        need = self.NEEDS.get(action)
        if need is not None and not self.oms.operator.may(need):
            return None  # shown, greyed out
        return True

    def on_data_changed(self) -> None:
        """The store changed (a write here, or the gateway ingested): read again what is shown."""


class OmsScreen(_Shared, Screen[None]):
    """A full screen of the app. Override `on_data_changed` to refresh in place."""

    def on_mount(self) -> None:
        self.watch(self.app, "data_version", lambda _v: self.on_data_changed(), init=False)


class OmsModal(_Shared, ModalScreen[R]):
    """A dialog over a screen (a form, a confirmation); dismissed with its result."""
