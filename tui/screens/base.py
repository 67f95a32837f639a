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
    """A full screen of the app. Override `on_data_changed` to refresh in place; a screen not
    in front (another mode, or under an open order) reads again when it comes back."""

    _watching = False
    _stale = False

    def on_mount(self) -> None:
        if not self._watching:  # subclasses' on_mount may call this one as well as Textual
            self._watching = True
            self.watch(self.app, "data_version", self._changed, init=False)

    def _changed(self, _version: int) -> None:
        if self.is_current:
            self.on_data_changed()
        else:
            self._stale = True

    def on_screen_resume(self) -> None:
        if self._stale:
            self._stale = False
            self.on_data_changed()


class OmsModal(_Shared, ModalScreen[R]):
    """A dialog over a screen (a form, a confirmation); dismissed with its result."""

    def close_with(self, result: R) -> None:
        """Dismiss with `result` if this dialog is still the one in front (a write finishing
        after the user closed it, or went elsewhere, must not close another screen)."""
        if self.is_attached and self.app.screen is self:
            self.dismiss(result)
