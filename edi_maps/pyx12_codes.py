"""One parsed codes.xml per process, shared by every pyx12 map.

pyx12 builds a new `ExternalCodes` (it parses the whole codes.xml, about 50 ms here) for every
map it loads, twice per validation; for the small files partners send every few minutes that
is most of the cost of taking one in. `ExternalCodes` is read-only once built (lookups only),
so one instance per (map directory, exclusions) serves every run. pyx12's map objects, in
contrast, count segments as they validate, so they are not shared.

`install()` makes pyx12 use the shared instances (idempotent); `edi_maps.pyx12_validate`
calls it on import, in every process that validates.
"""

from __future__ import annotations

import threading
from typing import Any

import pyx12.codes

__all__ = ["install", "shared_codes"]

_original = pyx12.codes.ExternalCodes
_cache: dict[tuple[str | None, str | None], Any] = {}
_lock = threading.Lock()


def shared_codes(base_path: str | None = None, exclude: str | None = None) -> Any:
    """pyx12's `ExternalCodes(base_path, exclude)`, built once per process and key."""
    key = (base_path, exclude)
    with _lock:
        codes = _cache.get(key)
        if codes is None:
            codes = _cache[key] = _original(base_path, exclude)
        return codes


def install() -> None:
    pyx12.codes.ExternalCodes = shared_codes
