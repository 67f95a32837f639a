"""Property tests: any delimiters and content round-trip; no input makes the reader crash."""

from __future__ import annotations

import datetime as dt
import string

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edi_maps import Delimiters, EdiError, GroupSpec, IsaHeader, Segment, SetSpec, Writer, check, read

WHEN = dt.datetime(2026, 1, 15, 9, 30, tzinfo=dt.UTC)
# separators seen in the wild, plus the rest of printable ASCII punctuation and some controls
SEPARATORS = list("*|~^>:+!@#$%&/\\'\"`}{[]()<=?;,-_.") + ["\x1c", "\x1d", "\x1e", "\x1f", "\x15", "\x7f", "\xa7"]
TERMINATORS = SEPARATORS + ["\n", "\r", " "]
TAG_CHARS = string.ascii_uppercase + string.digits
ENVELOPE_TAGS = {"ISA", "IEA", "GS", "GE", "ST", "SE", "TA1"}


@st.composite
def delimiters(draw: st.DrawFn) -> Delimiters:
    element, component = draw(st.lists(st.sampled_from(SEPARATORS), min_size=2, max_size=2, unique=True))
    segment = draw(st.sampled_from([t for t in TERMINATORS if t not in (element, component)]))
    repetition = draw(st.none() | st.sampled_from([s for s in SEPARATORS if s not in (element, component, segment)]))
    return Delimiters(element, component, segment, repetition)


def _values(d: Delimiters) -> st.SearchStrategy[str]:
    banned = d.chars() | {"\r", "\n"}
    return st.text(st.sampled_from([c for c in map(chr, range(256)) if c not in banned]), max_size=12)


@st.composite
def bodies(draw: st.DrawFn, d: Delimiters) -> list[Segment]:
    tags = st.builds(
        str.__add__,
        st.sampled_from(string.ascii_uppercase),
        st.text(st.sampled_from(TAG_CHARS), min_size=1, max_size=2),
    ).filter(lambda t: t not in ENVELOPE_TAGS)
    n = draw(st.integers(0, 8))
    return [Segment(draw(tags), tuple(draw(st.lists(_values(d), max_size=6)))) for _ in range(n)]


@st.composite
def files(draw: st.DrawFn) -> tuple[Delimiters, str, list[list[list[Segment]]], bytes]:
    d = draw(delimiters())
    version = draw(st.sampled_from(["00200", "00304", "00401", "00403", "00501"]))
    newline = "" if d.segment in "\r\n" else draw(st.sampled_from(["", "\n", "\r\n"]))
    w = Writer(d, newline)
    groups = draw(st.lists(st.lists(bodies(d), min_size=1, max_size=3), min_size=1, max_size=3))
    specs = [
        GroupSpec("PO", "SENDER", "RECEIVER", gi + 1, WHEN, [SetSpec("850", si + 1, body) for si, body in enumerate(g)])
        for gi, g in enumerate(groups)
    ]
    data = w.write(w.interchange(IsaHeader("ZZ", "SENDER", "ZZ", "RECEIVER", 42, WHEN, version=version), specs))
    return d, version, groups, data


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(files())
def test_write_then_read_is_the_identity(case: tuple[Delimiters, str, list[list[list[Segment]]], bytes]) -> None:
    d, version, groups, data = case
    tm = read(data)
    (ic,) = tm.interchanges
    expected_rep = d.repetition if int(version) >= 403 else None
    assert ic.delimiters == Delimiters(d.element, d.component, d.segment, expected_rep)
    assert [[ts.segments for ts in g.sets] for g in ic.groups] == groups
    assert check(tm) == []


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400))
def test_random_bytes_raise_only_edi_errors(data: bytes) -> None:
    try:
        tm = read(data)
    except EdiError:
        return
    check(tm)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(files(), st.data())
def test_damaged_files_never_crash_the_reader(
    case: tuple[Delimiters, str, list[list[list[Segment]]], bytes], data: st.DataObject
) -> None:
    raw = bytearray(case[3])
    for _ in range(data.draw(st.integers(1, 6))):
        at = data.draw(st.integers(0, len(raw)))
        action = data.draw(st.sampled_from(["cut", "insert", "flip", "truncate"]))
        if action == "cut":
            del raw[at : at + data.draw(st.integers(1, 20))]
        elif action == "insert":
            noise = st.binary(min_size=1, max_size=8) | st.sampled_from([b"ISA*", b"~~", b"\r\n", b"GS*", b"SE*"])
            raw[at:at] = data.draw(noise)
        elif action == "flip" and at < len(raw):
            raw[at] = data.draw(st.integers(0, 255))
        else:
            del raw[at:]
    try:
        tm = read(bytes(raw))
    except EdiError:
        return
    for finding in check(tm):
        assert finding.message and finding.offset >= -1
