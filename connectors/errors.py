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

Problems inside a payload (a bad line, a bad segment) are not raised: they are recorded
against the stored document so an operator can read them, and the good parts go in.
Messages never carry a password or a key passphrase.
"""

from __future__ import annotations

__all__ = [
    "AuthFailed",
    "ConnectorError",
    "HostKeyRefused",
    "MailboxError",
    "NameClash",
    "SourceError",
    "TransferError",
    "UnsafeName",
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
