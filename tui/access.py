"""Who is at the keyboard and what their role lets them do.

Roles rise viewer < operator < admin. A viewer reads every screen; an operator works
orders, stock and returns; an admin also changes set-up (resend EDI, retry dead messages,
resume channels). Each screen action names the role it needs in `NEEDS`; the app greys
out keys the operator may not use, and checks again before anything is written.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ROLES", "Operator", "Refused", "role_rank"]

ROLES: tuple[str, ...] = ("viewer", "operator", "admin")


def role_rank(role: str) -> int:
    try:
        return ROLES.index(role)
    except ValueError:
        raise ValueError(f"role {role!r} is not one of {', '.join(ROLES)}") from None


class Refused(Exception):
    """The operator's role does not allow the action; the message says which role would."""


@dataclass(frozen=True, slots=True)
class Operator:
    """The person working the TUI: the name written to the audit trail, and their role."""

    name: str
    role: str = "operator"

    def __post_init__(self) -> None:
        role_rank(self.role)
        if not self.name.strip():
            raise ValueError("an operator needs a name")

    def may(self, need: str) -> bool:
        return role_rank(self.role) >= role_rank(need)

    def check(self, need: str, what: str) -> None:
        if not self.may(need):
            raise Refused(f"{self.name} is a {self.role}; {what} needs the {need} role")
