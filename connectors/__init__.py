"""One module per outside system. Each translates its system's errors into `ConnectorError`.

    jsonl         canonical orders, one JSON object per line
    csv_profiles  CSV drop files: generic, Shopify order export, Amazon order report
    mailbox       a partner's mailbox (protocol) and its local-folder form
    sftp          the same over SFTP (paramiko), host keys pinned
    files         moving a taken file aside locally, never over another or the wrong one
"""

from __future__ import annotations

from .errors import (
    AuthFailed,
    ConnectorError,
    HostKeyRefused,
    MailboxError,
    NameClash,
    SourceError,
    TransferError,
    UnsafeName,
)

__all__ = [
    "AuthFailed", "ConnectorError", "HostKeyRefused", "MailboxError", "NameClash", "SourceError", "TransferError",
    "UnsafeName",
]
