"""Segment and element names for people reading X12 (`oms edi show`), taken from our maps."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import defusedxml.ElementTree as SafeET

__all__ = ["segment_name", "element_name"]

_MAPS = Path(__file__).resolve().parent / "maps"


@lru_cache(maxsize=1)
def _names() -> tuple[dict[str, str], dict[str, str]]:
    segments: dict[str, str] = {}
    elements: dict[str, str] = {}
    for path in sorted(_MAPS.glob("*.*.xml")):
        root = SafeET.parse(path).getroot()
        for seg in root.iter("segment"):
            xid = seg.get("xid", "")
            segments.setdefault(xid, seg.get("name", ""))
            for ele in seg.iter("element"):
                elements.setdefault(ele.get("xid", ""), ele.get("name", ""))
    return segments, elements


def segment_name(tag: str) -> str:
    return _names()[0].get(tag, "")


def element_name(tag: str, n: int) -> str:
    """Name of element `n` (from 1) of segment `tag`, e.g. ("BEG", 3) → "Purchase Order Number"."""
    return _names()[1].get(f"{tag}{n:02d}", "")
