"""The gateway daemon: partners' mailboxes, CSV drop folders, the outbox dispatcher, schedules.

    settings     what runs (built from oms.toml by `oms.config.to_gateway`)
    daemon       Gateway: workers on threads, leases, heartbeats, run_once / serve
    partners     one pass over a partner's mailbox (X12 in, archived only once committed)
    dispatch     EDI documents from the outbox to partners' mailboxes; shipments → 856/810,
                 dropship POs → 850
    schedules    jobs due on the clock: overdue 997s, 846 stock advice (a registry, JOBS)
    csv_folder   watched CSV drop folders
    demo_feed    the demo partner's generated 850s
    logs         JSON-line logs with secrets masked
"""

from __future__ import annotations

from .errors import GatewayError, JobFailed, SettingsError, WorkerFailed

__all__ = ["GatewayError", "JobFailed", "SettingsError", "WorkerFailed"]
