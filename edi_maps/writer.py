"""The X12 writer: segments out with chosen delimiters, envelopes built with correct counts.

    w = Writer(Delimiters("*", ">", "~", "^"), newline="\\n")
    body = [w.segment("BAK", "00", "AC", po_number, "20260101"), ...]
    data = w.write(w.interchange(isa, [GroupSpec("PR", "ME", "THEM", 17, when, [SetSpec("855", 1, body)])]))

The ISA is written fixed width (fields padded to 2/10/2/10/2/15/2/15/6/4/1/5/9/1/1/1);
ISA11 carries the repetition separator from version 00403 on, "U" before. SE01, GE01 and IEA01
are counted, trailers repeat their header's control number. A value that would corrupt the
output (it holds a delimiter or a line break, or is not latin-1) raises `ValidationError`
instead of being written: what `edi_maps.reader.read` reads back is exactly what was written.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from edi_maps.errors import ValidationError
from edi_maps.segments import Delimiters, Segment

__all__ = ["Writer", "IsaHeader", "GroupSpec", "SetSpec", "ISA_WIDTHS", "Element"]

ISA_WIDTHS = (2, 10, 2, 10, 2, 15, 2, 15, 6, 4, 1, 5, 9, 1, 1, 1)
Element = str | Sequence[str]  # a plain value, or a composite's components
_NOT_A_SEPARATOR = " \t\r\n\x0b\x0c\x00\x1a"  # the reader strips these, or cannot tell them from padding


@dataclass(frozen=True, slots=True)
class IsaHeader:
    """What an outbound ISA says; control numbers come from the store, never the clock."""

    sender_qualifier: str
    sender_id: str
    receiver_qualifier: str
    receiver_id: str
    control_number: int
    when: dt.datetime
    version: str = "00401"
    ack_requested: bool = False
    usage: str = "P"
    auth_qualifier: str = "00"
    auth: str = ""
    security_qualifier: str = "00"
    security: str = ""


@dataclass(frozen=True, slots=True)
class SetSpec:
    """One transaction set: ST01, ST02 (an int is zero-padded to 4 digits) and the body."""

    id: str
    control_number: int | str
    body: Sequence[Segment] = ()


@dataclass(frozen=True, slots=True)
class GroupSpec:
    """One functional group: GS01, GS02, GS03, GS06, the time for GS04/05, GS08 and its sets."""

    functional_id: str
    sender: str
    receiver: str
    control_number: int
    when: dt.datetime
    sets: Sequence[SetSpec] = field(default_factory=tuple)
    version: str = "004010"
    agency: str = "X"


class Writer:
    """Writes segments with one set of delimiters, plus an optional line break after each."""

    def __init__(self, delimiters: Delimiters | None = None, newline: str = "") -> None:
        d = delimiters or Delimiters()
        seps = [d.element, d.component, d.segment] + ([d.repetition] if d.repetition else [])
        if any(len(c) != 1 for c in seps) or len(set(seps)) != len(seps):
            raise ValidationError(f"delimiters must be distinct single characters: {d!r}")
        for c in seps:
            if c.isalnum() or ord(c) > 0xFF:
                raise ValidationError(f"delimiter {c!r} is a letter, a digit or not latin-1")
        for c in seps[:2] + seps[3:]:
            if c in _NOT_A_SEPARATOR:
                raise ValidationError(f"{c!r} cannot be an element, component or repetition separator")
        if newline not in ("", "\n", "\r\n"):
            raise ValidationError(f"newline after the terminator must be '', LF or CRLF, not {newline!r}")
        if newline and d.segment in "\r\n":
            raise ValidationError("no line break after a terminator that is itself a line break")
        self.delimiters = d
        self.newline = newline
        self._forbidden = {d.element, d.segment, "\r", "\n"}

    # --- building segments ------------------------------------------------------------------

    def segment(self, tag: str, *elements: Element) -> Segment:
        """A segment whose composites (sequences) are joined with this writer's component separator."""
        d = self.delimiters
        values: list[str] = []
        for el in elements:
            if isinstance(el, str):
                values.append(el)
                continue
            parts = list(el)
            for part in parts:
                if d.component in part or (d.repetition and d.repetition in part):
                    raise ValidationError(f"{tag}: component {part!r} holds a separator")
            values.append(d.component.join(parts))
        seg = Segment(tag, tuple(values))
        self._check(seg)
        return seg

    def isa(self, h: IsaHeader) -> Segment:
        """The ISA, every field padded to its width."""
        d = self.delimiters
        version = h.version
        rep = d.repetition if d.repetition and version.isdigit() and int(version) >= 403 else "U"
        raw = (
            h.auth_qualifier,
            h.auth,
            h.security_qualifier,
            h.security,
            h.sender_qualifier,
            h.sender_id,
            h.receiver_qualifier,
            h.receiver_id,
            h.when.strftime("%y%m%d"),
            h.when.strftime("%H%M"),
            rep,
            version,
            f"{h.control_number:09d}",
            "1" if h.ack_requested else "0",
            h.usage,
            d.component,
        )
        fields = []
        for n, (value, width) in enumerate(zip(raw, ISA_WIDTHS, strict=True), start=1):
            if len(value) > width:
                raise ValidationError(f"ISA{n:02d} {value!r} is longer than {width} characters")
            fields.append(value.ljust(width))
        if not 0 <= h.control_number <= 999_999_999:
            raise ValidationError(f"ISA13 {h.control_number} does not fit nine digits")
        for value in fields[:-1]:
            if d.element in value or (d.segment in value and d.segment != " "):
                raise ValidationError(f"ISA value {value!r} holds a delimiter")
            if d.component in value or "\r" in value or "\n" in value:
                raise ValidationError(f"ISA value {value!r} holds the component separator or a line break")
        return Segment("ISA", tuple(fields))

    def interchange(self, header: IsaHeader, groups: Sequence[GroupSpec]) -> list[Segment]:
        """ISA, each GS with its ST..SE sets and GE, then IEA, with counts filled in."""
        out = [self.isa(header)]
        for g in groups:
            date = g.when.strftime("%Y%m%d" if g.version[:6] >= "004010" else "%y%m%d")
            out.append(
                self.segment(
                    "GS", g.functional_id, g.sender, g.receiver, date, g.when.strftime("%H%M"),
                    str(g.control_number), g.agency, g.version,
                )
            )
            for s in g.sets:
                st02 = f"{s.control_number:04d}" if isinstance(s.control_number, int) else s.control_number
                out.append(self.segment("ST", s.id, st02))
                out.extend(s.body)
                out.append(self.segment("SE", str(len(s.body) + 2), st02))
            out.append(self.segment("GE", str(len(g.sets)), str(g.control_number)))
        out.append(self.segment("IEA", str(len(groups)), f"{header.control_number:09d}"))
        return out

    # --- writing ----------------------------------------------------------------------------

    def render(self, segment: Segment) -> str:
        """One segment as text, terminator and line break included."""
        if segment.tag != "ISA":
            self._check(segment)
        e = self.delimiters.element
        text = e.join((segment.tag, *segment.elements)) if segment.elements else segment.tag
        return text + self.delimiters.segment + self.newline

    def write(self, segments: Iterable[Segment]) -> bytes:
        """The segments as file bytes (latin-1)."""
        text = "".join(self.render(s) for s in segments)
        try:
            return text.encode("latin-1")
        except UnicodeEncodeError as exc:
            raise ValidationError(f"character {text[exc.start]!r} is not latin-1", offset=exc.start) from None

    def _check(self, seg: Segment) -> None:
        tag = seg.tag
        if not (2 <= len(tag) <= 3 and tag.isascii() and tag.isalnum()):
            raise ValidationError(f"segment tag {tag!r} is not 2 or 3 letters and digits")
        forbidden = self._forbidden
        for n, value in enumerate(seg.elements, start=1):
            for c in forbidden:
                if c in value:
                    raise ValidationError(f"{tag}{n:02d} {value!r} holds {c!r}, a delimiter or line break")
