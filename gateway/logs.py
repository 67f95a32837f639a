"""Structured logs: one JSON object per line on stderr, secrets never written.

    configure(fmt="json")                    # or "text" for a terminal
    log = logging.getLogger("oms.gateway")
    log.info("polled", extra={"worker": "sftp:acme", "files": 3})
    register_secret(password)                # its text is masked wherever it would appear
"""

from __future__ import annotations

import json
import logging
import sys
import threading
from typing import Any, TextIO

__all__ = ["configure", "register_secret", "JsonFormatter", "SecretFilter"]

_RESERVED = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}
_secrets: set[str] = set()
_lock = threading.Lock()
MASK = "***"


def register_secret(value: str | None) -> None:
    """Mask `value` in every log line from now on (passwords, passphrases, tokens)."""
    if value and len(value) >= 3:
        with _lock:
            _secrets.add(value)


def _mask(text: str) -> str:
    with _lock:
        secrets = sorted(_secrets, key=len, reverse=True)
    for s in secrets:
        text = text.replace(s, MASK)
    return text


class SecretFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = _mask(record.getMessage())
        record.args = ()
        for key, value in list(record.__dict__.items()):
            if key not in _RESERVED and isinstance(value, str):
                setattr(record, key, _mask(value))
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "at": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _RESERVED and not key.startswith("_"):
                out[key] = value if isinstance(value, (str, int, float, bool, type(None))) else str(value)
        if record.exc_info:
            out["error"] = _mask(self.formatException(record.exc_info))
        return json.dumps(out, ensure_ascii=False)


class _TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        extra = " ".join(f"{k}={v}" for k, v in record.__dict__.items() if k not in _RESERVED and not k.startswith("_"))
        line = f"{self.formatTime(record, '%H:%M:%S')} {record.levelname.lower():7} {record.getMessage()}"
        line += f"  {extra}" if extra else ""
        if record.exc_info:
            line += "\n" + _mask(self.formatException(record.exc_info))
        return line


def configure(fmt: str = "json", level: int = logging.INFO, stream: TextIO | None = None) -> logging.Handler:
    """Send the `oms` loggers to `stream` (stderr) in `fmt`; returns the handler installed."""
    import time

    handler = logging.StreamHandler(stream or sys.stderr)
    formatter: logging.Formatter = JsonFormatter() if fmt == "json" else _TextFormatter()
    formatter.converter = time.gmtime
    handler.setFormatter(formatter)
    handler.addFilter(SecretFilter())
    root = logging.getLogger("oms")
    for old in [h for h in root.handlers if getattr(h, "_oms", False)]:
        root.removeHandler(old)
    handler._oms = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)
    root.propagate = False
    for name in ("paramiko", "watchdog"):
        logging.getLogger(name).setLevel(logging.WARNING)
    return handler
