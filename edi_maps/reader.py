"""The tolerant X12 reader: raw file bytes in, a `Transmission` tree out.

Delimiters come from each ISA: the element separator is the character after "ISA", the
component separator is ISA16 and the segment terminator is the character right after it;
ISA11 is a repetition separator only from version 00403 on and only if it is not
alphanumeric. An ISA that is not 106 characters wide is read by splitting on its element
separator instead of by fixed offsets.

What real partners send and this reader takes in its stride: a UTF-8 BOM, any byte (decoded
latin-1, so offsets stay byte offsets), `\\n`, `\\r`, space, `|` or control characters as
terminators, CR/LF framing and indentation between segments, line breaks inside a segment
(dropped, as long as CR/LF is not a delimiter), empty segments (skipped), several ISA per file
with different delimiters, several GS per ISA, any ISA12.

Structural faults do not raise: a missing SE/GE/IEA, segments outside any envelope, bytes
before the first ISA are recorded as findings on the level they belong to, for a 997 or TA1
to name. Only input that holds no readable ISA at all raises `ParseError`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from edi_maps.errors import ParseError
from edi_maps.findings import Fault, Finding
from edi_maps.segments import Delimiters, Group, Interchange, Segment, TransactionSet, Transmission

__all__ = ["read", "interchange_texts"]

_BOM = "\xef\xbb\xbf"  # UTF-8 BOM as latin-1 text
_ISA_START = re.compile(r"ISA[^A-Za-z0-9 \t\r\n]")  # not \s: 0x1C-0x1F are delimiters here
# 0-based offsets of the 16 element separators of a fixed-width ISA
_FIXED_SEPARATORS = (3, 6, 17, 20, 31, 34, 50, 53, 69, 76, 81, 83, 89, 99, 101, 103)
_ISA_MAX_SPAN = 400  # a loose ISA (padding dropped, line breaks) is never longer than this
_WHITESPACE = " \t\r\n\x0b\x0c\x00\x1a"  # \x00 and ^Z pad some files at the end
_ENVELOPE_TAGS = frozenset({"ISA", "IEA", "GS", "GE", "ST", "SE"})


def read(data: bytes) -> Transmission:
    """Read every interchange in `data` (the raw bytes of one file).

    Raises `ParseError` only when nothing in the file can be acknowledged (no ISA whose
    fields can be read); every other fault is recorded on the tree.
    """
    if not isinstance(data, bytes | bytearray | memoryview):
        raise ParseError(f"expected the file's bytes, got {type(data).__name__}", offset=0)
    text = bytes(data).decode("latin-1")
    return _Reader(text).run()


def interchange_texts(data: bytes, tm: Transmission) -> list[str]:
    """The text of each interchange `read(data)` found, from its ISA up to the next ISA or the
    end of the file (latin-1, as read), e.g. for pyx12, which takes one interchange at a time."""
    starts = [ic.offset for ic in tm.interchanges] + [len(data)]
    return [data[a:b].decode("latin-1") for a, b in zip(starts, starts[1:])]


@dataclass(slots=True)
class _Isa:
    fields: list[str]
    delimiters: Delimiters
    end: int  # offset just past the segment terminator
    fixed: bool
    fault: Fault | None = None
    message: str = ""


def _find_isa(text: str, start: int) -> int:
    m = _ISA_START.search(text, start)
    return m.start() if m else -1


def _parse_isa(text: str, p: int) -> _Isa | str:
    """The ISA at `p`, or why its fields cannot be read."""
    if len(text) < p + 4:
        return "ISA truncated at end of file"
    e = text[p + 3]
    if e.isalnum() or e in _WHITESPACE:
        return f"ISA element separator {e!r} is a letter, digit or space"
    fixed = len(text) > p + 104 and all(text[p + i] == e for i in _FIXED_SEPARATORS) and text[p + 104] != e
    if fixed:
        seps = [p + i for i in _FIXED_SEPARATORS]
        fields = [text[a + 1 : b] for a, b in zip(seps, seps[1:], strict=False)]
        c = p + 104
    else:
        seps = [p + 3]
        while len(seps) < 16:
            j = text.find(e, seps[-1] + 1)
            if j < 0 or j - p > _ISA_MAX_SPAN:
                return f"ISA has fewer than 16 elements separated by {e!r}"
            seps.append(j)
        fields = [text[a + 1 : b].replace("\r", "").replace("\n", "") for a, b in zip(seps, seps[1:], strict=False)]
        c = seps[15] + 1
    if c >= len(text):
        return "ISA16 (component separator) missing at end of file"
    comp = text[c]
    term = text[c + 1] if c + 1 < len(text) else ""
    fields.append(comp)
    version = fields[11].strip()
    isa11 = fields[10]
    repetition = None
    if (
        version.isascii()
        and version.isdigit()
        and int(version) >= 403
        and len(isa11) == 1
        and not isa11.isalnum()
        and isa11 not in _WHITESPACE
        and isa11 not in (e, comp, term)
    ):
        repetition = isa11
    isa = _Isa(fields, Delimiters(e, comp, term, repetition), c + 2, fixed)
    if comp.isalnum() or comp in _WHITESPACE or comp == e:
        isa.fault, isa.message = Fault.ISA_COMPONENT_SEPARATOR, f"component separator (ISA16) {comp!r} is unusable"
    elif not term:
        isa.fault, isa.message = Fault.ISA_SEGMENT_TERMINATOR, "no segment terminator after ISA16 (end of file)"
    elif term.isalnum() or term in (e, comp):
        isa.fault, isa.message = (
            Fault.ISA_SEGMENT_TERMINATOR,
            f"segment terminator {term!r} after ISA16 is a letter, a digit or another delimiter",
        )
    return isa


class _Reader:
    """One pass over one file; state is the open interchange, group and set."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.tm = Transmission(size=len(text), bom=text.startswith(_BOM))
        self.index = 0  # segments seen in the file so far
        self.ic: Interchange | None = None  # the open interchange (None after IEA)
        self.group: Group | None = None
        self.ts: TransactionSet | None = None
        self.body: list[Segment] | None = None  # self.ts.segments, cached for the hot loop
        self.position = 0  # of the last segment in the open set, ST = 1
        self.stray: Fault | None = None  # the run of stray segments being skipped

    # --- driver -------------------------------------------------------------------------

    def run(self) -> Transmission:
        text = self.text
        pos = 3 if self.tm.bom else 0
        start = _find_isa(text, pos)
        if start < 0:
            what = "empty file" if not text[pos:].strip() else "no ISA segment found: not an X12 interchange"
            raise ParseError(what, offset=pos)
        if text[pos:start].strip(_WHITESPACE):
            self._note(Fault.GARBAGE_BEFORE_ISA, f"{start - pos} bytes before the first ISA were skipped", pos, 0)
        while start >= 0:
            start = self._read_from(start)
        self._close_interchange(len(text), missing=True)
        if not self.tm.interchanges:
            first = self.tm.problems[-1] if self.tm.problems else None
            raise ParseError(first.message if first else "no readable ISA", offset=first.offset if first else 0)
        return self.tm

    def _read_from(self, p: int) -> int:
        """Read from the ISA at `p` until EOF or an ISA with other delimiters; the next start or -1."""
        isa = self._open_interchange(p)
        if isa is None:
            return _find_isa(self.text, p + 3)
        d = isa.delimiters
        e, term = d.element, d.segment
        tl = len(term)
        ws = "".join(c for c in _WHITESPACE if c not in d.chars())
        drop_cr = "\r" not in d.chars()
        drop_lf = "\n" not in d.chars()
        envelope_tags = _ENVELOPE_TAGS
        off = isa.end
        body = self.body
        position = self.position
        index = self.index
        for raw in self.text[isa.end :].split(term):
            ro = off
            off += len(raw) + tl
            s = raw.lstrip(ws)
            if not s:
                continue
            so = ro + len(raw) - len(s)
            if drop_cr and "\r" in s:
                s = s.replace("\r", "")
            if drop_lf and "\n" in s:
                s = s.replace("\n", "")
            els = s.split(e)
            tag = els[0]
            index += 1
            if body is not None and tag not in envelope_tags and not (len(tag) > 3 and tag.startswith("ISA")):
                position += 1
                body.append(Segment(tag, tuple(els[1:]), so, index, position))
                continue
            self.position = position
            self.index = index
            if tag in envelope_tags or (len(tag) > 3 and tag.startswith("ISA") and _ISA_START.match(s)):
                restart = self._envelope(Segment(tag, tuple(els[1:]), so, index), raw, ro, off, d)
            elif body is not None:  # a tag that merely starts with "ISA"
                position += 1
                body.append(Segment(tag, tuple(els[1:]), so, index, position))
                continue
            else:
                restart = self._stray(Segment(tag, tuple(els[1:]), so, index), raw, ro)
            if restart >= 0:
                return restart
            body = self.body
            position = self.position
            index = self.index
        self.position = position
        self.index = index
        return -1

    # --- envelope segments --------------------------------------------------------------

    def _envelope(self, seg: Segment, raw: str, ro: int, end: int, d: Delimiters) -> int:
        tag, so = seg.tag, seg.offset
        if tag != "ISA" and tag.startswith("ISA"):
            tag = "ISA"  # an ISA with other delimiters than the open interchange's
        if tag == "ISA":
            self._close_interchange(so, missing=True)
            isa = _parse_isa(self.text, so)
            if isinstance(isa, _Isa) and isa.delimiters == d and isa.end == end and isa.fault is None:
                self.index -= 1
                self._open_interchange(so, isa)
                return -1
            self.index -= 1  # counted again when read from there
            return so
        ic = self.ic
        if ic is None:
            return self._stray(seg, raw, ro)
        if tag == "IEA":
            self._close_group(so, missing=True)
            ic.trailer = seg
            self.ic = None
            self.stray = None
        elif tag == "GS":
            self._close_group(so, missing=True)
            self.group = Group(seg)
            ic.groups.append(self.group)
            self.stray = None
        elif tag == "GE":
            if self.group is None:
                return self._stray(seg, raw, ro)
            self._close_set(so, missing=True)
            self.group.trailer = seg
            self.group = None
            self.stray = None
        elif tag == "ST":
            if self.group is None:
                return self._stray(seg, raw, ro)
            self._close_set(so, missing=True)
            self.ts = TransactionSet(Segment(seg.tag, seg.elements, so, seg.index, 1), delimiters=d)
            self.group.sets.append(self.ts)
            self.body = self.ts.segments
            self.position = 1
            self.stray = None
        elif tag == "SE":
            if self.ts is None:
                return self._stray(seg, raw, ro)
            self.position += 1
            self.ts.trailer = Segment(seg.tag, seg.elements, so, seg.index, self.position)
            self.ts = None
            self.body = None
        return -1

    def _open_interchange(self, p: int, isa: _Isa | str | None = None) -> _Isa | None:
        if isa is None:
            isa = _parse_isa(self.text, p)
        self.index += 1
        if isinstance(isa, str):
            self._note(Fault.UNREADABLE_ISA, f"{isa}; skipped to the next ISA", p, self.index)
            return None
        header = Segment("ISA", tuple(isa.fields), p, self.index)
        ic = Interchange(header, isa.delimiters, fixed_width=isa.fixed)
        self.tm.interchanges.append(ic)
        if isa.fault is not None:
            ic.problems.append(self._finding(isa.fault, isa.message + "; rest of the interchange skipped", p))
            return None
        if not isa.fixed:
            ic.problems.append(
                self._finding(
                    Fault.ISA_NOT_FIXED_WIDTH, "ISA is not 106 characters wide; read by element separator", p
                )
            )
        self.ic = ic
        self.stray = None
        return isa

    # --- closing what a trailer should have closed --------------------------------------

    def _close_set(self, at: int, *, missing: bool) -> None:
        if self.ts is not None and missing:
            self.ts.problems.append(
                self._finding(Fault.SE_MISSING, f"transaction set {self.ts.control_number!r} has no SE", at)
            )
        self.ts = None
        self.body = None

    def _close_group(self, at: int, *, missing: bool) -> None:
        self._close_set(at, missing=missing)
        if self.group is not None and missing:
            self.group.problems.append(
                self._finding(Fault.GE_MISSING, f"group {self.group.control_number!r} has no GE", at)
            )
        self.group = None

    def _close_interchange(self, at: int, *, missing: bool) -> None:
        self._close_group(at, missing=missing)
        if self.ic is not None and missing:
            self.ic.problems.append(
                self._finding(Fault.IEA_MISSING, f"interchange {self.ic.control_number!r} has no IEA", at)
            )
        self.ic = None

    # --- faults -------------------------------------------------------------------------

    def _stray(self, seg: Segment, raw: str, ro: int) -> int:
        """A segment outside the envelope it needs; note the first of a run. Maybe an ISA hides in it."""
        if self.ic is not None and self.group is None and seg.tag == "TA1":
            self.ic.ta1.append(seg)  # an interchange acknowledgment sits between ISA and GS
            self.stray = None
            return -1
        if self.ic is None:
            fault, where = Fault.OUTSIDE_INTERCHANGE, "outside any interchange (after IEA or before ISA)"
            k = raw.find("ISA")
            if k > 0 and _ISA_START.match(raw, k):
                self._note(fault, f"{k} bytes of garbage before an ISA were skipped", seg.offset, seg.index)
                self.index -= 1
                return ro + k
        elif self.group is None:
            fault, where = Fault.OUTSIDE_GROUP, "outside any functional group (GS..GE)"
        else:
            fault, where = Fault.OUTSIDE_SET, "outside any transaction set (ST..SE)"
        if self.stray is not fault:
            msg = f"segment {seg.tag[:10]!r} and those following it up to the next envelope segment are {where}"
            if fault is Fault.OUTSIDE_INTERCHANGE:
                self._note(fault, msg, seg.offset, seg.index)
            elif fault is Fault.OUTSIDE_GROUP and self.ic is not None:
                self.ic.problems.append(self._finding(fault, msg, seg.offset, seg.index))
            elif self.group is not None:
                self.group.problems.append(self._finding(fault, msg, seg.offset, seg.index))
            self.stray = fault
        return -1

    def _finding(self, fault: Fault, message: str, offset: int, index: int | None = None) -> Finding:
        ics = self.tm.interchanges
        ic = self.ic if self.ic is not None else (ics[-1] if ics else None)
        gi = len(ic.groups) - 1 if ic is not None and self.group is not None else None
        si = len(self.group.sets) - 1 if self.group is not None and self.ts is not None else None
        if fault.ack.value == "TA1":
            gi = si = None
        elif fault.ack.value == "AK9":
            si = None
        return Finding(
            fault,
            message,
            offset,
            self.index if index is None else index,
            len(ics) - 1 if ic is not None else None,
            gi,
            si,
        )

    def _note(self, fault: Fault, message: str, offset: int, index: int) -> None:
        self.tm.problems.append(Finding(fault, message, offset, index))
