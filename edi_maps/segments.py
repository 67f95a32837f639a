"""The shapes an X12 file reads into: delimiters, segments and the envelope tree.

    Transmission (one file)
     └── Interchange   ISA ... IEA, with its own delimiters
          └── Group    GS ... GE
               └── TransactionSet   ST ... SE, body segments numbered from ST = 1

Values are kept as the file had them (decoded latin-1, one character per byte, so positions
are byte offsets): elements are raw strings, a composite still holds its component separator
(`Delimiters.components` splits it). Faults found while reading are kept on the level they
belong to (`problems`), for `edi_maps.envelope` to report and a 997/TA1 to name.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import NamedTuple

from edi_maps.findings import Finding

__all__ = ["Delimiters", "InterchangeKey", "Segment", "TransactionSet", "Group", "Interchange", "Transmission"]


@dataclass(frozen=True, slots=True)
class Delimiters:
    """The separators of one interchange; `repetition` is None before 00403 or when ISA11 is a code."""

    element: str = "*"
    component: str = ":"
    segment: str = "~"
    repetition: str | None = None

    def components(self, value: str) -> list[str]:
        """A composite element's components (a plain element gives a one-item list)."""
        return value.split(self.component)

    def chars(self) -> frozenset[str]:
        return frozenset(c for c in (self.element, self.component, self.segment, self.repetition) if c)


class InterchangeKey(NamedTuple):
    """What makes an inbound interchange unique (ISA05+ISA06, ISA07+ISA08, ISA13), padding dropped."""

    sender: str
    receiver: str
    control_number: str


@dataclass(slots=True)
class Segment:
    """One segment: its tag and raw element values (element 1 is `elements[0]`). Treat as
    read-only (not frozen only because frozen dataclasses are 4x slower to build, and the
    reader builds one per segment).

    `offset` is the byte offset of the tag in the file, `index` the 1-based ordinal of the
    segment in the file, `position` its position in its transaction set counting ST as 1
    (0 outside a set), as AK3 wants. They do not take part in equality.
    """

    tag: str
    elements: tuple[str, ...] = ()
    offset: int = field(default=-1, compare=False)
    index: int = field(default=0, compare=False)
    position: int = field(default=0, compare=False)

    def get(self, n: int, default: str = "") -> str:
        """Element `n` counted from 1 as X12 does (`BEG03` is `seg.get(3)`); `default` if absent."""
        if 1 <= n <= len(self.elements):
            return self.elements[n - 1]
        return default

    def __len__(self) -> int:
        return len(self.elements)

    def __str__(self) -> str:
        return "*".join((self.tag, *self.elements))


@dataclass(slots=True)
class TransactionSet:
    """ST ... SE. `segments` holds the body (ST and SE excluded), positions 2 .. n-1."""

    header: Segment
    segments: list[Segment] = field(default_factory=list)
    trailer: Segment | None = None
    delimiters: Delimiters = field(default_factory=Delimiters)
    problems: list[Finding] = field(default_factory=list)

    @property
    def id(self) -> str:
        """ST01, e.g. "850"."""
        return self.header.get(1)

    @property
    def control_number(self) -> str:
        """ST02."""
        return self.header.get(2)

    @property
    def counted(self) -> int:
        """Segments counted as SE01 counts them: ST, the body and SE (when SE is there)."""
        return len(self.segments) + 1 + (1 if self.trailer is not None else 0)

    def all(self, tag: str) -> list[Segment]:
        return [s for s in self.segments if s.tag == tag]

    def first(self, tag: str) -> Segment | None:
        for s in self.segments:
            if s.tag == tag:
                return s
        return None

    def __iter__(self) -> Iterator[Segment]:
        return iter(self.segments)


@dataclass(slots=True)
class Group:
    """GS ... GE."""

    header: Segment
    sets: list[TransactionSet] = field(default_factory=list)
    trailer: Segment | None = None
    problems: list[Finding] = field(default_factory=list)

    @property
    def functional_id(self) -> str:
        """GS01, e.g. "PO" for 850."""
        return self.header.get(1)

    @property
    def sender(self) -> str:
        return self.header.get(2)

    @property
    def receiver(self) -> str:
        return self.header.get(3)

    @property
    def control_number(self) -> str:
        """GS06."""
        return self.header.get(6)

    @property
    def version(self) -> str:
        """GS08, e.g. "004010" or "004010VICS"."""
        return self.header.get(8)


@dataclass(slots=True)
class Interchange:
    """ISA ... IEA, with the delimiters its ISA declared.

    `fixed_width` is False when the ISA was not 106 characters wide and was read by splitting
    on the element separator instead.
    """

    header: Segment
    delimiters: Delimiters
    fixed_width: bool = True
    groups: list[Group] = field(default_factory=list)
    trailer: Segment | None = None
    problems: list[Finding] = field(default_factory=list)
    ta1: list[Segment] = field(default_factory=list)  # TA1 acknowledgments between ISA and GS

    @property
    def offset(self) -> int:
        return self.header.offset

    @property
    def isa(self) -> tuple[str, ...]:
        """ISA01..ISA16 as read (padding kept)."""
        return self.header.elements

    @property
    def sender_qualifier(self) -> str:
        return self.header.get(5).strip()

    @property
    def sender_id(self) -> str:
        return self.header.get(6).strip()

    @property
    def receiver_qualifier(self) -> str:
        return self.header.get(7).strip()

    @property
    def receiver_id(self) -> str:
        return self.header.get(8).strip()

    @property
    def version(self) -> str:
        """ISA12, e.g. "00401"."""
        return self.header.get(12).strip()

    @property
    def control_number(self) -> str:
        """ISA13."""
        return self.header.get(13).strip()

    @property
    def ack_requested(self) -> bool:
        """ISA14 = 1: the sender wants a TA1."""
        return self.header.get(14).strip() == "1"

    @property
    def usage(self) -> str:
        """ISA15: P production, T test."""
        return self.header.get(15).strip()

    @property
    def key(self) -> InterchangeKey:
        """What makes an inbound interchange unique: (ISA05+ISA06, ISA07+ISA08, ISA13)."""
        return InterchangeKey(
            self.sender_qualifier + self.sender_id,
            self.receiver_qualifier + self.receiver_id,
            self.control_number,
        )

    def sets(self) -> Iterator[TransactionSet]:
        for g in self.groups:
            yield from g.sets


@dataclass(slots=True)
class Transmission:
    """One file: its interchanges, and faults found outside any interchange."""

    interchanges: list[Interchange] = field(default_factory=list)
    problems: list[Finding] = field(default_factory=list)
    size: int = 0
    bom: bool = False

    def sets(self) -> Iterator[TransactionSet]:
        for ic in self.interchanges:
            yield from ic.sets()

    def segment_count(self) -> int:
        """Segments read in envelopes (ISA, GS, ST, body, SE, GE, IEA)."""
        n = 0
        for ic in self.interchanges:
            n += 1 + (ic.trailer is not None)
            for g in ic.groups:
                n += 1 + (g.trailer is not None)
                for ts in g.sets:
                    n += ts.counted
        return n
