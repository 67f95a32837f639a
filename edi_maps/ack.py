"""Our own 997 and TA1: one outbound interchange answering one received interchange.

    findings = check(tm)                                   # envelope faults, every interchange
    report = validate(text[ic.offset:next_isa_offset])     # pyx12 AK3/AK4 (or None)
    take = functools.partial(store.control.take_control_numbers, conn, partner_id)
    ack = acknowledge(ic, findings, report, interchange_index=i, numbers=take, now=now)
    send(ack.data); log(ack.summary)

The answer is addressed back to the sender (ISA05/06 and ISA07/08 swapped), has a TA1 right
after the ISA when the sender asked for one (ISA14 = 1) or the interchange itself is faulty, and
one 997 per received group, in its own GS/GE addressed from that group's GS (GS02/GS03 swapped,
GS08 the received one). pyx12's own 997 writer gets all of this wrong (reference/edi.md, 1).

AK5/AK9 codes come from `edi_maps.envelope` (the envelope is the authority on counts and
control numbers) merged with pyx12's findings; AK3/AK4 come from pyx12 only. Control numbers
come from the `numbers(kind, count)` callback (the store's per-partner counters), never the clock.

`read_997` reads a partner's 997 back into the same `GroupAck` shapes, so a round trip through
our own output compares equal. Errors: `ValidationError` when the callback hands out unusable
numbers or explicit delimiters cannot be written; `MappingError` for a 997 that cannot be read.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from edi_maps.envelope import ak5_codes, ak9_codes, needs_ta1, ta1_note_code
from edi_maps.errors import MappingError, ValidationError
from edi_maps.findings import Ack, Finding
from edi_maps.outbound import take_numbers
from edi_maps.pyx12_validate import GroupReport, SegmentFinding, SetReport, ValidationReport
from edi_maps.segments import Delimiters, Group, Interchange, Segment, TransactionSet
from edi_maps.writer import GroupSpec, IsaHeader, SetSpec, Writer

__all__ = [
    "AckStatus",
    "ElementNote",
    "SegmentNote",
    "SetAck",
    "GroupAck",
    "TakenNumbers",
    "Acknowledgment",
    "acknowledge",
    "read_997",
]

_DEFAULT = Delimiters("*", ":", "~")
_REPETITION_CHOICES = "^{|!`"  # for a 00501 answer to a file that declared none
_KNOWN_SUFFIXES = ("", "VICS", "UCS")  # GS08 suffixes our 997 maps have rows for


class AckStatus(enum.Enum):
    """What an acknowledgment code means for the document (AK501, AK901, TA104)."""

    ACCEPTED = "accepted"
    ACCEPTED_WITH_ERRORS = "accepted_with_errors"
    REJECTED = "rejected"

    @classmethod
    def of(cls, code: str) -> AckStatus:
        """A accepted; E (and AK9 P, some sets accepted) accepted with errors; anything else rejected."""
        if code == "A":
            return cls.ACCEPTED
        if code in ("E", "P"):
            return cls.ACCEPTED_WITH_ERRORS
        return cls.REJECTED


@dataclass(frozen=True, slots=True)
class ElementNote:
    """AK4: element position (and component), element reference number, error code, bad value."""

    position: int
    component: int | None
    element_ref: str
    code: str
    bad_value: str


@dataclass(frozen=True, slots=True)
class SegmentNote:
    """AK3: segment id, position in the set (ST = 1), loop id, error code, then its AK4s."""

    segment_id: str
    position: int
    loop_id: str
    code: str
    elements: tuple[ElementNote, ...] = ()


@dataclass(frozen=True, slots=True)
class SetAck:
    """AK2 ... AK5 for one transaction set. `reasons` (readable, not sent) do not compare."""

    set_id: str
    control_number: str
    code: str  # AK501
    codes: tuple[str, ...] = ()  # AK502..AK506
    notes: tuple[SegmentNote, ...] = ()
    reasons: tuple[str, ...] = field(default=(), compare=False)

    @property
    def status(self) -> AckStatus:
        return AckStatus.of(self.code)


@dataclass(frozen=True, slots=True)
class GroupAck:
    """AK1 ... AK9 for one functional group (one 997).

    A set is usable only when its own status and the group's status are not rejected. In a
    partner's 997 the AK2 loops may be left out for accepted sets: `status_of` answers for those.
    """

    functional_id: str  # AK101
    control_number: str  # AK102
    version: str  # AK103, "" when not sent (before 005010)
    code: str  # AK901
    declared: int  # AK902
    received: int  # AK903
    accepted: int  # AK904
    codes: tuple[str, ...] = ()  # AK905..AK909
    sets: tuple[SetAck, ...] = ()
    reasons: tuple[str, ...] = field(default=(), compare=False)
    validated: bool = field(default=True, compare=False)  # False: acknowledged from the envelope alone

    @property
    def status(self) -> AckStatus:
        return AckStatus.of(self.code)

    def status_of(self, control_number: str) -> AckStatus:
        """The status of the set with this ST02: its AK5, else what the AK9 implies for unlisted sets."""
        for s in self.sets:
            if s.control_number == control_number:
                return AckStatus.REJECTED if self.code == "R" else s.status
        return AckStatus.ACCEPTED if self.code == "P" else self.status


@dataclass(frozen=True, slots=True)
class TakenNumbers:
    """The numbers `numbers()` handed out: ISA13, then GS06 and ST02 per 997 (same order as groups)."""

    interchange: int
    groups: tuple[int, ...] = ()
    sets: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class Acknowledgment:
    """The outbound interchange answering one received interchange, and what it says."""

    data: bytes
    groups: tuple[GroupAck, ...]
    ta1: bool
    ta1_code: str | None  # TA104: A, E or R (None without a TA1)
    ta1_note: str | None  # TA105
    control_numbers: TakenNumbers
    notes: tuple[str, ...]
    summary: str

    @property
    def status(self) -> AckStatus:
        """The interchange as a whole: rejected if the TA1 or every group rejects it."""
        if self.ta1_code == "R" or (self.groups and all(g.code == "R" for g in self.groups)):
            return AckStatus.REJECTED
        worst = [self.ta1_code or "A", *(g.code for g in self.groups)]
        if all(c == "A" for c in worst) and all(s.code == "A" for g in self.groups for s in g.sets):
            return AckStatus.ACCEPTED
        return AckStatus.ACCEPTED_WITH_ERRORS


# ------------------------------------------------------------------------------- writing


def acknowledge(
    ic: Interchange,
    envelope_findings: Sequence[Finding],
    validation: ValidationReport | None,
    *,
    interchange_index: int,
    numbers: Callable[[str, int], list[int]],
    delimiters: Delimiters | None = None,
    now: dt.datetime,
    duplicate: bool = False,
    answer_groups: bool = True,
) -> Acknowledgment:
    """The 997s (and TA1) answering `ic`, the interchange at `interchange_index` of its file.

    `envelope_findings` may hold findings of other interchanges (`check(tm)`); only those of
    `interchange_index` are used. `validation` is pyx12's report for this interchange, or None.
    `duplicate`: the interchange was received before; the answer is a TA1 alone, R with
    note 025 (duplicate interchange control number), and its groups are not acknowledged again.
    `answer_groups=False`: a TA1 alone (for an interchange of acknowledgments, which are not
    acknowledged, whose envelope is at fault); its code is E, the groups were still read.
    """
    findings = [f for f in envelope_findings if f.interchange == interchange_index]
    notes: list[str] = []
    reports = _match_groups(ic, validation, notes)
    answerable: list[int] = []
    for gi, g in enumerate(ic.groups):
        if duplicate or not answer_groups:
            continue
        if g.functional_id.strip() and g.control_number.strip():
            answerable.append(gi)
        else:
            notes.append(f"group {gi + 1} has no GS01 or GS06 to acknowledge; answered by the TA1 only")

    version = ic.version if ic.version in ("00401", "00501") else "00401"
    if version != ic.version:
        notes.append(f"ISA12 {ic.version!r} answered with 00401")
    copied = [ic.sender_qualifier, ic.sender_id, ic.receiver_qualifier, ic.receiver_id, ic.control_number]
    for gi in answerable:
        g = ic.groups[gi]
        copied += [g.functional_id, g.sender, g.receiver, g.control_number, g.version]
        copied += [v for ts in g.sets for v in (ts.id, ts.control_number)]
    d = _choose_delimiters(delimiters, ic.delimiters, version, copied, notes)
    writer = Writer(d)

    def clean(value: str) -> str:
        return _clean(value, d)

    acks = [_group_ack(ic.groups[gi], gi, findings, reports[gi], interchange_index, clean, notes) for gi in answerable]
    if any(g.functional_id == "FA" for g in acks):
        notes.append("a group holds functional acknowledgments; 997s are not normally acknowledged")

    ta1_errors = [f for f in findings if f.ack is Ack.TA1 and f.is_error]
    faulty = bool(ta1_errors) or (len(answerable) < len(ic.groups) and not duplicate and answer_groups)
    want_ta1 = needs_ta1(ic, findings, interchange_index) or faulty or not acks
    ta1_code = ta1_note = None
    if duplicate:
        ta1_code, ta1_note = "R", "025"
        notes.append(f"interchange {ic.control_number} was received before: TA1 R 025, its groups not answered again")
    elif want_ta1:
        ta1_code = "A" if not faulty else ("E" if acks or (ic.groups and not answer_groups) else "R")
        ta1_note = ta1_note_code(findings, interchange_index)
        if ta1_note == "000" and faulty:
            ta1_note = "024"  # invalid interchange content: a group nobody can name
    if not ic.groups and not duplicate and answer_groups:
        notes.append("the interchange holds no functional group: answered with a TA1 alone")

    isa13 = take_numbers(numbers, "isa", 1)[0]
    gs06 = take_numbers(numbers, "gs", len(acks)) if acks else []
    st02 = take_numbers(numbers, "st", len(acks)) if acks else []
    usage = ic.usage if ic.usage in ("P", "T") else "P"
    if usage != ic.usage:
        notes.append(f"ISA15 {ic.usage!r} answered with P")
    header = IsaHeader(
        _fit(clean(ic.receiver_qualifier), 2, "ISA05", notes), _fit(clean(ic.receiver_id), 15, "ISA06", notes),
        _fit(clean(ic.sender_qualifier), 2, "ISA07", notes), _fit(clean(ic.sender_id), 15, "ISA08", notes),
        isa13, now, version=version, usage=usage,
    )  # fmt: skip
    specs = []
    for n, (gi, ack) in enumerate(zip(answerable, acks, strict=True)):
        g = ic.groups[gi]
        body = _render(writer, ack)
        gs08 = _gs08(clean(g.version), notes)
        specs.append(GroupSpec("FA", clean(g.receiver.strip()), clean(g.sender.strip()), gs06[n], now,
                               [SetSpec("997", st02[n], body)], version=gs08))  # fmt: skip
    segments = writer.interchange(header, specs)
    if want_ta1:
        isa = ic.header
        ta1 = (clean(ic.control_number), clean(isa.get(9).strip()), clean(isa.get(10).strip()))
        segments.insert(1, _seg(writer, "TA1", *ta1, ta1_code or "A", ta1_note or "000"))
    if validation is not None:
        notes += [f"pyx12: {f.message}" for f in validation.interchange[:3]]
    return Acknowledgment(
        data=writer.write(segments),
        groups=tuple(acks),
        ta1=want_ta1,
        ta1_code=ta1_code,
        ta1_note=ta1_note,
        control_numbers=TakenNumbers(isa13, tuple(gs06), tuple(st02)),
        notes=tuple(notes),
        summary=_summary(ic, ta1_code, ta1_note, ta1_errors, acks),
    )


def _group_ack(
    g: Group,
    gi: int,
    findings: list[Finding],
    report: GroupReport | None,
    ic_index: int,
    clean: Callable[[str], str],
    notes: list[str],
) -> GroupAck:
    validated = report is not None and report.supported
    if report is not None and not report.supported:
        why = report.messages[0] if report.messages else "no map"
        notes.append(f"group {g.control_number.strip()} acknowledged from its envelope alone ({why})")
    set_reports = _match_sets(g, report if validated else None)
    sets = tuple(
        _set_ack(ts, gi, si, findings, set_reports[si], ic_index, clean) for si, ts in enumerate(g.sets)
    )
    mine = [f for f in findings if f.group == gi and f.transaction_set is None and f.ack is Ack.AK9]
    codes = ak9_codes(findings, ic_index, gi)
    reasons = [f.message for f in mine if f.is_error]
    if report is not None and validated:
        codes += [c for c in report.codes if c not in codes]
        reasons += [m for m in report.messages if report.codes]
    received = len(sets)
    accepted = sum(1 for s in sets if s.code != "R")
    ge01 = g.trailer.get(1).strip() if g.trailer is not None else ""
    declared = int(ge01) if ge01.isascii() and ge01.isdigit() else received
    if codes or (sets and not accepted):
        code = "R"
    elif accepted < received:
        code = "P"
    elif mine or any(s.code == "E" for s in sets) or (validated and report is not None and report.elements):
        code = "E"
    else:
        code = "A"
    version = clean(g.version) if g.version[:6].isdigit() and g.version[:6] >= "005010" else ""
    return GroupAck(
        clean(g.functional_id), clean(g.control_number.strip()), version, code, declared, received,
        accepted, tuple(codes[:5]), sets, tuple(reasons), validated,
    )  # fmt: skip


def _set_ack(
    ts: TransactionSet,
    gi: int,
    si: int,
    findings: list[Finding],
    report: SetReport | None,
    ic_index: int,
    clean: Callable[[str], str],
) -> SetAck:
    mine = [f for f in findings if f.group == gi and f.transaction_set == si]
    codes = ak5_codes(findings, ic_index, gi, si)
    reasons = [f.message for f in mine if f.is_error]
    rejected = bool(reasons)
    notes: tuple[SegmentNote, ...] = ()
    if report is not None:
        notes = tuple(_segment_note(s, clean) for s in report.segments)
        if report.ack_code != "A":
            rejected = True
            codes += [c for c in report.codes if c not in codes]
            reasons += [*report.messages, *(m for s in report.segments for m in s.messages)]
    if notes and "5" not in codes:
        codes.append("5")
    code = "R" if rejected else ("E" if mine or notes else "A")
    return SetAck(clean(ts.id), clean(ts.control_number), code, tuple(codes[:5]), notes, tuple(reasons))


def _segment_note(s: SegmentFinding, clean: Callable[[str], str]) -> SegmentNote:
    elements = tuple(
        ElementNote(
            e.position, e.component, "".join(c for c in e.element_ref or "" if c.isdigit())[:4],
            e.code, _bad_value(clean(e.bad_value or "")),
        )  # fmt: skip
        for e in s.elements[:99]
    )
    loop = clean(s.loop_id or "")
    code = s.codes[0] if s.codes else "8"
    return SegmentNote(clean(s.segment_id), s.position, loop if len(loop) <= 4 else "", code, elements)


def _render(w: Writer, ack: GroupAck) -> list[Segment]:
    out = [_seg(w, "AK1", ack.functional_id, ack.control_number, ack.version)]
    for s in ack.sets:
        out.append(_seg(w, "AK2", s.set_id, s.control_number))
        for n in s.notes:
            out.append(_seg(w, "AK3", n.segment_id, str(n.position), n.loop_id, n.code))
            for e in n.elements:
                where = [str(e.position), str(e.component)] if e.component is not None else str(e.position)
                out.append(_seg(w, "AK4", where, e.element_ref, e.code, e.bad_value))
        out.append(_seg(w, "AK5", s.code, *s.codes))
    out.append(_seg(w, "AK9", ack.code, str(ack.declared), str(ack.received), str(ack.accepted), *ack.codes))
    return out


def _seg(w: Writer, tag: str, *elements: str | list[str]) -> Segment:
    """A segment without trailing empty elements (X12 forbids trailing separators)."""
    els = list(elements)
    while els and els[-1] == "":
        els.pop()
    return w.segment(tag, *els)


# ------------------------------------------------------------------------------- helpers


def _match_groups(ic: Interchange, validation: ValidationReport | None, notes: list[str]) -> list[GroupReport | None]:
    """pyx12's report for each received group, by position when it lines up, else by GS01 + GS06."""
    n = len(ic.groups)
    if validation is None:
        if n:
            notes.append("no pyx12 report: sets acknowledged from the envelope alone")
        return [None] * n
    reports = list(validation.groups)
    key = [(g.functional_id.strip(), g.control_number.strip()) for g in ic.groups]
    if len(reports) == n and all((r.functional_id, r.control_number) == k for r, k in zip(reports, key, strict=True)):
        out: list[GroupReport | None] = list(reports)
    else:
        out = []
        for k in key:
            found = next((r for r in reports if (r.functional_id, r.control_number) == k), None)
            if found is not None:
                reports.remove(found)
            out.append(found)
    if not validation.validated:
        # only the "no map" reports of the text repairs are trustworthy when pyx12 did not finish
        out = [r if r is not None and not r.supported else None for r in out]
        if any(r is None for r in out):
            why = f" ({validation.interchange[0].message})" if validation.interchange else ""
            notes.append(f"pyx12 did not validate this interchange{why}: sets acknowledged from the envelope alone")
    else:
        for gi, r in enumerate(out):
            if r is None:
                notes.append(f"group {key[gi][1]!r} not in pyx12's report: acknowledged from its envelope alone")
    return out


def _match_sets(g: Group, report: GroupReport | None) -> list[SetReport | None]:
    if report is None:
        return [None] * len(g.sets)
    reports = list(report.sets)
    if len(reports) == len(g.sets) and all(
        r.control_number == ts.control_number.strip() for r, ts in zip(reports, g.sets, strict=True)
    ):
        return list(reports)
    out: list[SetReport | None] = []
    for ts in g.sets:
        found = next((r for r in reports if r.control_number == ts.control_number.strip()), None)
        if found is not None:
            reports.remove(found)
        out.append(found)
    return out


def _choose_delimiters(
    given: Delimiters | None, received: Delimiters, version: str, copied: list[str], notes: list[str]
) -> Delimiters:
    """The caller's delimiters, else the received ones; the defaults when those would not do."""
    if given is not None:
        Writer(given)  # an explicit choice that cannot be written is the caller's error: raise
    for base, last in ((given or received, False), (_DEFAULT, True)):
        rep = base.repetition
        if version >= "00403" and not rep:
            rep = next(c for c in _REPETITION_CHOICES if c not in (base.element, base.component, base.segment))
        d = Delimiters(base.element, base.component, base.segment, rep if version >= "00403" else None)
        try:
            Writer(d)
            if given is None and d.segment in " \t":  # pyx12 and many partners cannot read it
                raise ValidationError(f"segment terminator {d.segment!r} is whitespace")
        except ValidationError as exc:
            notes.append(f"received delimiters unusable ({exc.message}): answered with * : ~")
            continue
        clash = [v for v in copied if d.chars() & set(v) or "\r" in v or "\n" in v]
        if not clash or last:
            if clash:
                notes.append(f"values holding a delimiter were changed: {', '.join(map(repr, clash[:3]))}")
            return d
        notes.append(f"value {clash[0]!r} holds a delimiter of {d!r}: answered with * : ~")
    raise AssertionError("unreachable: the defaults are always usable")


def _clean(value: str, d: Delimiters) -> str:
    """A received value made writable: delimiters, line breaks and non-latin-1 become '?'."""
    bad = d.chars() | {"\r", "\n"}
    return "".join("?" if c in bad or ord(c) > 0xFF else c for c in value)


def _bad_value(value: str) -> str:
    """AK404: printable, trimmed, at most 99 characters."""
    text = "".join("?" if ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 else c for c in value).strip()
    return text[:99].rstrip()


def _fit(value: str, width: int, name: str, notes: list[str]) -> str:
    if len(value) > width:
        notes.append(f"{name} {value!r} cut to {width} characters")
    return value[:width]


def _gs08(received: str, notes: list[str]) -> str:
    """Our 997's GS08: the received one, without a suffix our 997 maps do not know."""
    v = received.strip()
    if not v:
        notes.append("group without GS08 answered with 004010")
        return "004010"
    if len(v) > 6 and v[:6].isdigit() and v[6:] not in _KNOWN_SUFFIXES:
        notes.append(f"GS08 {v!r} answered with {v[:6]}")
        return v[:6]
    return v


def _summary(
    ic: Interchange, ta1_code: str | None, ta1_note: str | None, ta1_errors: list[Finding], acks: list[GroupAck]
) -> str:
    parts = []
    if ta1_code is not None:
        why = f" — {ta1_errors[0].message}" if ta1_errors else ""
        if not why and ta1_note == "025":
            why = " — a duplicate of an interchange received before"
        parts.append(f"TA1 {ta1_code} {ta1_note} for interchange {ic.control_number}{why}")
    for g in acks:
        n = len(g.sets)
        rejected = [s for s in g.sets if s.code == "R"]
        with_errors = sum(1 for s in g.sets if s.code == "E")
        text = f"997 for {g.functional_id} group {g.control_number}: {n} set{'s' if n != 1 else ''}, "
        text += f"{n - len(rejected)} accepted, {len(rejected)} rejected"
        if with_errors:
            text += f", {with_errors} with errors"
        if g.code != "A" or g.codes:
            text += f", AK9 {' '.join((g.code, *g.codes))}"
            if g.reasons:
                text += f" — {g.reasons[0]}"
        if not g.validated:
            text += ", envelope only"
        if rejected:
            s = rejected[0]
            why = f" — {s.reasons[0]}" if s.reasons else ""
            more = f" and {len(rejected) - 1} more" if len(rejected) > 1 else ""
            text += f" (set {s.control_number}: AK5 {' '.join((s.code, *s.codes))}{why}{more})"
        parts.append(text)
    return "; ".join(parts)


# ------------------------------------------------------------------------------- reading


def read_997(ts: TransactionSet) -> list[GroupAck]:
    """What a partner's 997 says about our groups and sets (one GroupAck per AK1).

    Raises `MappingError` when `ts` is not a 997, or an AK2/AK9 comes without its AK1, an AK2
    without its AK5, or an AK1 without its AK9: such a 997 must not change any status.
    """
    if ts.id != "997":
        raise MappingError(f"transaction set {ts.id!r} is not a 997", offset=ts.header.offset,
                           segment_index=ts.header.index)  # fmt: skip
    out: list[GroupAck] = []
    group: list[str] | None = None
    sets: list[SetAck] = []
    current: tuple[str, str] | None = None
    seg_notes: list[SegmentNote] = []

    def fail(seg: Segment, why: str) -> MappingError:
        return MappingError(f"997 {ts.control_number}: {why}", offset=seg.offset, segment_index=seg.index)

    for seg in ts.segments:
        tag = seg.tag
        if tag == "AK1":
            if group is not None:
                raise fail(seg, f"AK1 before the AK9 of group {group[1]!r}")
            group, sets = [seg.get(1), seg.get(2), seg.get(3)], []
        elif tag in ("AK2", "AK3", "AK4", "AK5", "AK9") and group is None:
            raise fail(seg, f"{tag} without an AK1")
        elif tag == "AK2":
            if current is not None:
                raise fail(seg, f"AK2 before the AK5 of set {current[1]!r}")
            current, seg_notes = (seg.get(1), seg.get(2)), []
        elif tag == "AK3":
            seg_notes.append(SegmentNote(seg.get(1), _int(seg.get(2)), seg.get(3), seg.get(4)))
        elif tag == "AK4" and seg_notes:
            where = ts.delimiters.components(seg.get(1))
            component = _int(where[1]) if len(where) > 1 and where[1] else None
            last = seg_notes[-1]
            note = ElementNote(_int(where[0]), component, seg.get(2), seg.get(3), seg.get(4))
            seg_notes[-1] = SegmentNote(last.segment_id, last.position, last.loop_id, last.code,
                                        (*last.elements, note))  # fmt: skip
        elif tag == "AK5":
            if current is None:
                raise fail(seg, "AK5 without an AK2")
            codes = tuple(c for c in seg.elements[1:] if c)
            sets.append(SetAck(current[0], current[1], seg.get(1), codes, tuple(seg_notes)))
            current = None
        elif tag == "AK9":
            if current is not None:
                raise fail(seg, f"set {current[1]!r} has no AK5")
            assert group is not None
            codes = tuple(c for c in seg.elements[4:] if c)
            declared, received, accepted = (_int(seg.get(n)) for n in (2, 3, 4))
            out.append(GroupAck(group[0], group[1], group[2], seg.get(1), declared, received, accepted,
                                codes, tuple(sets)))  # fmt: skip
            group = None
    if group is not None:
        raise fail(ts.trailer or ts.header, f"group {group[1]!r} has no AK9")
    if not out:
        raise fail(ts.header, "no AK1 group response")
    return out


def _int(value: str) -> int:
    v = value.strip()
    return int(v) if v.isascii() and v.isdigit() else -1
