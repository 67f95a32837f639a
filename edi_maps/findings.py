"""Findings: what is wrong with an envelope, and which acknowledgment code says so.

The reader records structural findings (a missing trailer, segments outside any envelope) as
it goes; `edi_maps.envelope` adds the comparisons (control numbers, counts, ISA field shapes).
Each finding names the acknowledgment that answers it:

- `Ack.TA1`: interchange (ISA/IEA) problems, `code` is the TA1 note code (TA105, e.g. "001");
- `Ack.AK9`: functional group (GS/GE) problems, `code` is an AK9 error code ("3", "4", "5", "6");
- `Ack.AK5`: transaction set (ST/SE) problems, `code` is an AK5 error code ("2", "3", "4", "23");
- `Ack.NONE`: nothing can answer it (bytes outside any interchange), the operator reads it.

TA1 note codes are from the X12 TA105 code list (I18) as remembered, and match pyx12's output
where pyx12 produces them; AK5/AK9 codes match pyx12's `997.4010.xml` (reference/edi.md, 4).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

__all__ = ["Ack", "Severity", "Fault", "Finding"]


class Ack(enum.Enum):
    TA1 = "TA1"
    AK9 = "AK9"
    AK5 = "AK5"
    NONE = "none"


class Severity(enum.Enum):
    ERROR = "error"  # the envelope is unsound: reject, or acknowledge with errors
    WARNING = "warning"  # tolerated oddity, worth showing to an operator


class Fault(enum.Enum):
    """Each kind of envelope fault: (description, acknowledgment, code, severity)."""

    # outside any interchange
    GARBAGE_BEFORE_ISA = ("bytes before the first ISA", "none", None, "error")
    OUTSIDE_INTERCHANGE = ("segments outside any interchange", "none", None, "error")
    UNREADABLE_ISA = ("an ISA whose delimiters cannot be read", "none", None, "error")
    # interchange level, answered by a TA1 (TA105 note codes)
    IEA02_MISMATCH = ("IEA02 differs from ISA13", "TA1", "001", "error")
    ISA_SEGMENT_TERMINATOR = ("invalid segment terminator", "TA1", "004", "error")
    ISA05_INVALID = ("invalid sender ID qualifier", "TA1", "005", "error")
    ISA06_INVALID = ("invalid sender ID", "TA1", "006", "error")
    ISA07_INVALID = ("invalid receiver ID qualifier", "TA1", "007", "error")
    ISA08_INVALID = ("invalid receiver ID", "TA1", "008", "error")
    ISA01_INVALID = ("invalid authorization qualifier", "TA1", "010", "error")
    ISA03_INVALID = ("invalid security qualifier", "TA1", "012", "error")
    ISA09_INVALID = ("invalid interchange date", "TA1", "014", "error")
    ISA10_INVALID = ("invalid interchange time", "TA1", "015", "error")
    ISA11_INVALID = ("invalid standards identifier or repetition separator", "TA1", "016", "error")
    ISA12_INVALID = ("invalid version", "TA1", "017", "error")
    ISA12_UNKNOWN = ("unknown version", "TA1", "017", "warning")  # well formed but not a version we know
    ISA13_INVALID = ("invalid interchange control number", "TA1", "018", "error")
    ISA14_INVALID = ("invalid acknowledgment requested flag", "TA1", "019", "error")
    ISA15_INVALID = ("invalid test indicator", "TA1", "020", "error")
    IEA01_COUNT = ("IEA01 differs from the number of groups", "TA1", "021", "error")
    IEA_MISSING = ("IEA missing", "TA1", "023", "error")
    OUTSIDE_GROUP = ("segments outside any group", "TA1", "024", "error")
    ISA_ELEMENT_SEPARATOR = ("invalid element separator", "TA1", "026", "error")
    ISA_COMPONENT_SEPARATOR = ("invalid component separator", "TA1", "027", "error")
    ISA_NOT_FIXED_WIDTH = ("ISA not 106 characters wide", "TA1", None, "warning")
    # functional group level, answered by AK9 in the group's 997
    GE_MISSING = ("GE missing", "AK9", "3", "error")
    GE02_MISMATCH = ("GE02 differs from GS06", "AK9", "4", "error")
    GE01_COUNT = ("GE01 differs from the number of sets", "AK9", "5", "error")
    GS06_INVALID = ("invalid group control number", "AK9", "6", "error")
    OUTSIDE_SET = ("segments outside any transaction set", "AK9", None, "error")
    # transaction set level, answered by AK5 in the group's 997
    SE_MISSING = ("SE missing", "AK5", "2", "error")
    SE02_MISMATCH = ("SE02 differs from ST02", "AK5", "3", "error")
    SE01_COUNT = ("SE01 differs from the segment count", "AK5", "4", "error")
    ST02_INVALID = ("invalid transaction set control number", "AK5", "7", "error")
    ST02_DUPLICATE = ("ST02 repeated in the group", "AK5", "23", "error")

    @property
    def description(self) -> str:
        text: str = self.value[0]
        return text

    @property
    def ack(self) -> Ack:
        return Ack(self.value[1])

    @property
    def code(self) -> str | None:
        code: str | None = self.value[2]
        return code

    @property
    def severity(self) -> Severity:
        return Severity(self.value[3])


@dataclass(frozen=True, slots=True)
class Finding:
    """One fault of one envelope, located in the file and in the structure.

    `interchange`, `group` and `transaction_set` are 0-based indexes into
    `Transmission.interchanges`, `Interchange.groups` and `Group.sets` (None where the fault
    is above that level); `offset` is the byte offset in the file and `segment_index` the
    1-based ordinal of the segment in the file that shows the fault.
    """

    fault: Fault
    message: str
    offset: int
    segment_index: int
    interchange: int | None = None
    group: int | None = None
    transaction_set: int | None = None

    @property
    def ack(self) -> Ack:
        return self.fault.ack

    @property
    def code(self) -> str | None:
        return self.fault.code

    @property
    def severity(self) -> Severity:
        return self.fault.severity

    @property
    def is_error(self) -> bool:
        return self.fault.severity is Severity.ERROR

    def __str__(self) -> str:
        code = f" {self.ack.value} {self.code}" if self.code else ""
        return f"{self.fault.name}{code}: {self.message} (byte {self.offset}, segment {self.segment_index})"
