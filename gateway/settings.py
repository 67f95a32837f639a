"""What the gateway runs, as plain values (oms.toml is read and checked by `oms.config`).

    GatewaySettings
    ├── mailboxes: one per EDI partner with a `[partners.mailbox]` (SFTP or a local folder)
    ├── folders:   one per `[[folders]]` CSV drop folder (profile, channel, column map)
    ├── channels:  one per `[[channels]]` with a `connector` (a marketplace or cart API)
    └── schedules: job name -> seconds between runs, None for off (`[gateway.schedules]`;
                   a job not named runs at its default, gateway.schedules.JOBS)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from connectors.sftp import SftpSettings

__all__ = ["ApiChannelSpec", "MailboxSpec", "FolderSpec", "GatewaySettings"]


@dataclass(frozen=True, slots=True)
class MailboxSpec:
    """A partner's mailbox: `sftp` (settings) or `folder` (a local directory shared with them)."""

    partner: str
    transport: str  # sftp | folder
    sftp: SftpSettings | None = None
    folder: Path | None = None
    inbox: str = "in"
    outbox: str = "out"
    archive: str | None = "in/archive"  # None: delete at the partner once committed here
    poll_seconds: float = 30.0

    @property
    def worker(self) -> str:
        return f"partner:{self.partner}"

    def where(self) -> str:
        """Where its files come from, for documents' `source` and logs (no secrets)."""
        if self.sftp is not None:
            return f"sftp://{self.sftp.username}@{self.sftp.host}:{self.sftp.port}"
        return f"file://{self.folder}"


@dataclass(frozen=True, slots=True)
class FolderSpec:
    path: Path
    profile: str  # generic | shopify | amazon
    channel: str
    columns: Mapping[str, str] = field(default_factory=dict)
    settle_seconds: float = 1.0

    @property
    def worker(self) -> str:
        return f"folder:{self.path}"


@dataclass(frozen=True, slots=True)
class ApiChannelSpec:
    """A marketplace or cart account: its connector (shopify | amazon | woocommerce | ebay), the
    connector's settings (URL, credentials, limits), how often its orders are polled and how
    soon a stock change is pushed to it."""

    channel: str
    connector: str
    settings: Mapping[str, Any] = field(default_factory=dict)
    poll_seconds: float = 60.0
    stock_seconds: float = 0.5

    @property
    def worker(self) -> str:
        return f"channel:{self.channel}"


@dataclass(frozen=True, slots=True)
class GatewaySettings:
    mailboxes: Sequence[MailboxSpec] = ()
    folders: Sequence[FolderSpec] = ()
    channels: Sequence[ApiChannelSpec] = ()
    webhooks_listen: str | None = None  # "host:port" of the webhook receiver, None: no receiver
    dispatch_seconds: float = 5.0
    heartbeat_seconds: float = 10.0
    lease_seconds: float = 60.0
    retries: int = 3  # attempts per pass before a worker gives up until its next pass
    backoff_seconds: float = 1.0  # first retry delay; doubles, with jitter, capped at a minute
    schedules: Mapping[str, float | None] = field(default_factory=dict)
    ack_overdue_after: float = 86_400.0  # an interchange we sent is overdue when no 997 came in this long
