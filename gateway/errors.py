"""The gateway's error tree.

    GatewayError
    ├── SettingsError   the gateway's settings are impossible (a folder that is not one, ...)
    ├── WorkerFailed    one pass of a worker failed; the message says which and why
    └── JobFailed       a scheduled job did part of its work; the message names the rest
"""

from __future__ import annotations

__all__ = ["GatewayError", "JobFailed", "SettingsError", "WorkerFailed"]


class GatewayError(Exception):
    pass


class SettingsError(GatewayError):
    pass


class WorkerFailed(GatewayError):
    pass


class JobFailed(GatewayError):
    pass
