"""The connectors' error tree.

    ConnectorError
    └── SourceError    a source file or payload cannot be read at all (missing, unreadable)

Problems inside a payload (a bad line, a bad segment) are not raised: they are recorded
against the stored document so an operator can read them, and the good parts go in.
"""

from __future__ import annotations

__all__ = ["ConnectorError", "SourceError"]


class ConnectorError(Exception):
    pass


class SourceError(ConnectorError):
    pass
