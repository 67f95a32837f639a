"""One module per outside system. Each translates its system's errors into `ConnectorError`."""

from __future__ import annotations

from .errors import ConnectorError, SourceError

__all__ = ["ConnectorError", "SourceError"]
