"""X12 reader and writer, envelope checks and (later) the mappings to and from the store.

    from edi_maps import read, check
    tm = read(path.read_bytes())          # never raises anything but EdiError
    for finding in check(tm): ...         # what a 997/TA1 must say, with byte offsets
    for ts in tm.sets(): ts.first("BEG").get(3)

Errors: see `edi_maps.errors`.
"""

from __future__ import annotations

from edi_maps.envelope import (
    ak5_codes,
    ak9_codes,
    check,
    check_interchange,
    errors,
    is_sound,
    needs_ta1,
    require_sound,
    ta1_note_code,
)
from edi_maps.errors import EdiError, EnvelopeError, MappingError, ParseError, ValidationError
from edi_maps.findings import Ack, Fault, Finding, Severity
from edi_maps.reader import interchange_texts, read
from edi_maps.segments import (
    Delimiters,
    Group,
    Interchange,
    InterchangeKey,
    Segment,
    TransactionSet,
    Transmission,
)
from edi_maps.writer import GroupSpec, IsaHeader, SetSpec, Writer

__all__ = [
    "Ack",
    "Delimiters",
    "EdiError",
    "EnvelopeError",
    "Fault",
    "Finding",
    "Group",
    "GroupSpec",
    "Interchange",
    "InterchangeKey",
    "IsaHeader",
    "MappingError",
    "ParseError",
    "Segment",
    "SetSpec",
    "Severity",
    "TransactionSet",
    "Transmission",
    "ValidationError",
    "Writer",
    "ak5_codes",
    "ak9_codes",
    "check",
    "check_interchange",
    "errors",
    "interchange_texts",
    "is_sound",
    "needs_ta1",
    "read",
    "require_sound",
    "ta1_note_code",
]
