"""Envelope checks: do the ISA/GS/ST headers and their trailers agree, and is the ISA sound?

    ISA13 = IEA02, IEA01 = number of GS     -> TA1 001 / 021
    GS06 = GE02,   GE01 = number of ST      -> AK9 4 / 5
    ST02 = SE02,   SE01 = ST..SE inclusive  -> AK5 3 / 4
    ST02 unique within its group            -> AK5 23

Counts are compared as integers (an SE01 of "0012" counts 12); control numbers as text, or as
integers when both are all digits. The ISA fields are checked for shape (ISA13 nine digits,
ISA14 0/1, ISA15 P/T, ISA09 YYMMDD, ISA10 HHMM, ...). The findings the reader recorded (a
missing trailer, stray segments) come back first, then these comparisons.

Duplicate interchanges across files are the store's business: `Interchange.key` is what it
keeps unique.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from edi_maps.errors import EnvelopeError
from edi_maps.findings import Ack, Fault, Finding
from edi_maps.segments import Group, Interchange, Segment, TransactionSet, Transmission

__all__ = [
    "check",
    "check_interchange",
    "errors",
    "is_sound",
    "require_sound",
    "needs_ta1",
    "ta1_note_code",
    "ak9_codes",
    "ak5_codes",
    "KNOWN_VERSIONS",
]

KNOWN_VERSIONS = range(200, 502)  # ISA12 00200 .. 00501 as integers


def check(tm: Transmission) -> list[Finding]:
    """Every envelope finding of a file, in file order within each level."""
    out = list(tm.problems)
    for i, ic in enumerate(tm.interchanges):
        out.extend(check_interchange(ic, i))
    return out


def check_interchange(ic: Interchange, index: int = 0) -> list[Finding]:
    """Findings of one interchange; `index` is its place in `Transmission.interchanges`."""
    out = list(ic.problems)
    out.extend(_isa_fields(ic, index))
    iea = ic.trailer
    if iea is not None:
        out.extend(_count(Fault.IEA01_COUNT, "IEA01", iea, 1, len(ic.groups), "functional groups", index))
        if not _same_control(iea.get(2), ic.header.get(13)):
            out.append(
                _at(
                    Fault.IEA02_MISMATCH,
                    f"IEA02 {iea.get(2)!r} does not match ISA13 {ic.header.get(13)!r}",
                    iea,
                    index,
                )
            )
    for gi, group in enumerate(ic.groups):
        out.extend(_group(group, index, gi))
    return out


def errors(findings: Iterable[Finding]) -> list[Finding]:
    """The findings that make an envelope unsound (warnings dropped)."""
    return [f for f in findings if f.is_error]


def is_sound(findings: Iterable[Finding]) -> bool:
    return not errors(findings)


def require_sound(tm: Transmission) -> list[Finding]:
    """The file's warnings if its envelopes are sound; raise `EnvelopeError` naming the first error."""
    found = check(tm)
    bad = errors(found)
    if bad:
        first = bad[0]
        more = f" (and {len(bad) - 1} more)" if len(bad) > 1 else ""
        raise EnvelopeError(f"{first.fault.description}: {first.message}{more}", offset=first.offset,
                            segment_index=first.segment_index)
    return found


def needs_ta1(ic: Interchange, findings: Iterable[Finding], index: int = 0) -> bool:
    """A TA1 is owed when the sender asked for one (ISA14 = 1) or the interchange has an error."""
    return ic.ack_requested or any(
        f.ack is Ack.TA1 and f.is_error and f.interchange == index for f in findings
    )


def ta1_note_code(findings: Iterable[Finding], index: int = 0) -> str:
    """TA105 for interchange `index`: the code of its first interchange error, "000" if none."""
    for f in findings:
        if f.interchange == index and f.ack is Ack.TA1 and f.is_error and f.code:
            return f.code
    return "000"


def ak9_codes(findings: Iterable[Finding], interchange: int, group: int) -> list[str]:
    """AK9 error codes (at most 5, distinct, in order found) for one group."""
    return _codes(findings, Ack.AK9, interchange, group, None)


def ak5_codes(findings: Iterable[Finding], interchange: int, group: int, transaction_set: int) -> list[str]:
    """AK5 error codes (at most 5, distinct, in order found) for one transaction set."""
    return _codes(findings, Ack.AK5, interchange, group, transaction_set)


# --- the checks ----------------------------------------------------------------------------


def _group(group: Group, ic: int, gi: int) -> list[Finding]:
    out = list(group.problems)
    gs06 = group.control_number
    if not (_digits(gs06) and 1 <= len(gs06) <= 9):
        out.append(_at(Fault.GS06_INVALID, f"GS06 {gs06!r} is not 1 to 9 digits", group.header, ic, gi))
    ge = group.trailer
    if ge is not None:
        out.extend(_count(Fault.GE01_COUNT, "GE01", ge, 1, len(group.sets), "transaction sets", ic, gi))
        if not _same_control(ge.get(2), gs06):
            out.append(_at(Fault.GE02_MISMATCH, f"GE02 {ge.get(2)!r} does not match GS06 {gs06!r}", ge, ic, gi))
    seen: dict[str, int] = {}
    for si, ts in enumerate(group.sets):
        out.extend(_set(ts, ic, gi, si))
        st02 = ts.control_number
        if st02 in seen:
            out.append(
                _at(
                    Fault.ST02_DUPLICATE,
                    f"ST02 {st02!r} already used by transaction set {seen[st02] + 1} of group {gs06!r}",
                    ts.header,
                    ic,
                    gi,
                    si,
                )
            )
        else:
            seen[st02] = si
    return out


def _set(ts: TransactionSet, ic: int, gi: int, si: int) -> list[Finding]:
    out = list(ts.problems)
    st02 = ts.control_number
    if not 4 <= len(st02) <= 9 or not st02.isalnum():
        out.append(_at(Fault.ST02_INVALID, f"ST02 {st02!r} is not 4 to 9 letters or digits", ts.header, ic, gi, si))
    se = ts.trailer
    if se is not None:
        out.extend(_count(Fault.SE01_COUNT, "SE01", se, 1, ts.counted, "segments from ST to SE", ic, gi, si))
        if not _same_control(se.get(2), st02):
            out.append(_at(Fault.SE02_MISMATCH, f"SE02 {se.get(2)!r} does not match ST02 {st02!r}", se, ic, gi, si))
    return out


def _isa_fields(ic: Interchange, index: int) -> list[Finding]:
    isa = ic.header
    out: list[Finding] = []

    def bad(fault: Fault, n: int, why: str) -> None:
        out.append(_at(fault, f"ISA{n:02d} {isa.get(n)!r} {why}", isa, index))

    for n, fault in ((1, Fault.ISA01_INVALID), (3, Fault.ISA03_INVALID)):
        if not (len(isa.get(n).strip()) == 2 and isa.get(n).isalnum()):
            bad(fault, n, "is not a two-character qualifier")
    for n, fault in ((5, Fault.ISA05_INVALID), (7, Fault.ISA07_INVALID)):
        if not (len(isa.get(n).strip()) == 2 and isa.get(n).strip().isalnum()):
            bad(fault, n, "is not a two-character ID qualifier")
    for n, fault in ((6, Fault.ISA06_INVALID), (8, Fault.ISA08_INVALID)):
        if not isa.get(n).strip() or len(isa.get(n).strip()) > 15:
            bad(fault, n, "is empty or longer than 15 characters")
    if not _is_date(isa.get(9).strip()):
        bad(Fault.ISA09_INVALID, 9, "is not a date YYMMDD")
    if not _is_time(isa.get(10).strip()):
        bad(Fault.ISA10_INVALID, 10, "is not a time HHMM")
    if len(isa.get(11)) != 1:
        bad(Fault.ISA11_INVALID, 11, "is not one character")
    version = isa.get(12).strip()
    if not (_digits(version) and len(version) == 5):
        bad(Fault.ISA12_INVALID, 12, "is not a five-digit version")
    elif int(version) not in KNOWN_VERSIONS:
        bad(Fault.ISA12_UNKNOWN, 12, "is not a version from 00200 to 00501")
    isa13 = isa.get(13).strip()
    if not (_digits(isa13) and len(isa13) == 9):
        bad(Fault.ISA13_INVALID, 13, "is not nine digits")
    if isa.get(14).strip() not in ("0", "1"):
        bad(Fault.ISA14_INVALID, 14, "is not 0 or 1")
    if isa.get(15).strip() not in ("P", "T"):
        bad(Fault.ISA15_INVALID, 15, "is not P or T")
    return out


# --- helpers -------------------------------------------------------------------------------


def _digits(s: str) -> bool:
    return s.isascii() and s.isdigit()


def _same_control(a: str, b: str) -> bool:
    """Control numbers agree when equal as text, or as integers when both are all digits."""
    return a == b or (_digits(a) and _digits(b) and int(a) == int(b))


def _is_date(s: str) -> bool:
    if not (_digits(s) and len(s) == 6):
        return False
    try:
        dt.date(2000 + int(s[:2]), int(s[2:4]), int(s[4:]))
    except ValueError:
        return False
    return True


def _is_time(s: str) -> bool:
    return _digits(s) and len(s) == 4 and int(s[:2]) < 24 and int(s[2:]) < 60


def _count(
    fault: Fault,
    name: str,
    seg: Segment,
    n: int,
    actual: int,
    what: str,
    ic: int,
    gi: int | None = None,
    si: int | None = None,
) -> list[Finding]:
    raw = seg.get(n)
    value = raw.strip()
    if not _digits(value):
        return [_at(fault, f"{name} {raw!r} is not a number ({actual} {what} counted)", seg, ic, gi, si)]
    if int(value) != actual:
        return [_at(fault, f"{name} says {int(value)} but {actual} {what} were counted", seg, ic, gi, si)]
    return []


def _at(
    fault: Fault, message: str, seg: Segment, ic: int, gi: int | None = None, si: int | None = None
) -> Finding:
    return Finding(fault, message, seg.offset, seg.index, ic, gi, si)


def _codes(
    findings: Iterable[Finding], ack: Ack, ic: int, gi: int, si: int | None
) -> list[str]:
    codes: list[str] = []
    for f in findings:
        if (
            f.ack is ack
            and f.is_error
            and f.code
            and f.interchange == ic
            and f.group == gi
            and (si is None or f.transaction_set == si)
            and f.code not in codes
        ):
            codes.append(f.code)
    return codes[:5]
