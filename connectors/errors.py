"""The connectors' error tree.

    ConnectorError
    ├── SourceError        a source file or payload cannot be read at all (missing, unreadable)
    └── MailboxError       a partner's mailbox (SFTP or a shared folder) refused an operation:
        │                  no such file, permission denied, a server-side failure
        ├── HostKeyRefused the server's host key is not the one pinned in known_hosts
        │                  (unknown host or a changed key); nothing was sent or read
        ├── AuthFailed     the server refused our key or password, or the key file won't load
        ├── UnsafeName     a remote file name with a path component; refused before any I/O
        ├── NameClash      an outbound file of that name already holds other bytes
        └── TransferError  the connection dropped or timed out mid-operation: retry on a new
                           connection (a partial download is never returned, a partial upload
                           never appears under its final name)
    └── ApiError           a marketplace or cart API failed a call (after the retries it allows)
        ├── Unreachable    connection refused, reset or timed out; 5xx bursts that outlasted retries
        ├── Throttled      still throttled after honouring Retry-After / the bucket's waits
        ├── QuotaExhausted a daily quota is spent: the channel pauses until `until`
        ├── AuthRejected   credentials refused even after a token refresh
        ├── CursorExpired  a page token the API no longer accepts: restart the window
        ├── Rejected       the API refused the request as invalid (4xx), with its own message
        └── WebhookRejected a webhook whose signature or shape does not verify

Problems inside a payload (a bad line, a bad segment) are not raised: they are recorded
against the stored document so an operator can read them, and the good parts go in.
Messages never carry a password or a key passphrase.
"""

from __future__ import annotations

import datetime as dt

__all__ = [
    "AuthFailed",
    "ConnectorError",
    "HostKeyRefused",
    "MailboxError",
    "NameClash",
    "SourceError",
    "TransferError",
    "UnsafeName",
    "ApiError",
    "Unreachable",
    "Throttled",
    "QuotaExhausted",
    "AuthRejected",
    "CursorExpired",
    "Rejected",
    "WebhookRejected",
]


class ConnectorError(Exception):
    pass


class SourceError(ConnectorError):
    pass


class MailboxError(ConnectorError):
    pass


class HostKeyRefused(MailboxError):
    pass


class AuthFailed(MailboxError):
    pass


class UnsafeName(MailboxError):
    pass


class NameClash(MailboxError):
    pass


class TransferError(MailboxError):
    pass


class ApiError(ConnectorError):
    """`status` is the HTTP status when there was one."""

    def __init__(self, message: str, *, status: int | None = None, body: bytes | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.body = body  # what the API sent, when it could not be used (kept as a rejected document)


class Unreachable(ApiError):
    pass


class Throttled(ApiError):
    pass


class QuotaExhausted(ApiError):
    def __init__(self, message: str, *, until: dt.datetime, status: int | None = None) -> None:
        super().__init__(message, status=status)
        self.until = until


class AuthRejected(ApiError):
    pass


class CursorExpired(ApiError):
    pass


class Rejected(ApiError):
    pass


class WebhookRejected(ApiError):
    pass
