"""The writer: fixed-width ISA, counted envelopes, refusal to corrupt, and read-back identity."""

from __future__ import annotations

import datetime as dt

import pytest

from edi_maps import (
    Delimiters,
    GroupSpec,
    IsaHeader,
    Segment,
    SetSpec,
    ValidationError,
    Writer,
    check,
    read,
)
from edi_maps.writer import ISA_WIDTHS

WHEN = dt.datetime(2026, 1, 15, 9, 30, tzinfo=dt.UTC)
HEADER = IsaHeader("ZZ", "ACME", "01", "123456789", 4711, WHEN, version="00501")


def _ack(w: Writer, po: str) -> list[Segment]:
    return [
        w.segment("BAK", "00", "AC", po, "20260115"),
        w.segment("PO1", "1", "2", "EA", "9.99", "", "VP", "SKU-1"),
        w.segment("ACK", "IA", "2", "EA"),
        w.segment("CTT", "1"),
    ]


def test_isa_is_106_characters_with_every_field_padded() -> None:
    w = Writer(Delimiters("*", ">", "~", "^"))
    text = w.render(w.isa(HEADER))
    assert len(text) == 106
    fields = text[4:-3].split("*")
    assert [len(f) for f in fields] == list(ISA_WIDTHS[:15])
    assert fields[5] == "ACME           " and fields[8] == "260115" and fields[9] == "0930"
    assert fields[10] == "^" and fields[11] == "00501" and fields[12] == "000004711"
    assert text[104:] == ">~"


def test_isa11_is_u_before_00403_even_with_a_repetition_separator() -> None:
    w = Writer(Delimiters("*", ">", "~", "^"))
    isa = w.isa(IsaHeader("ZZ", "A", "ZZ", "B", 1, WHEN, version="00401"))
    assert isa.get(11) == "U"


def test_interchange_counts_are_filled_in_and_read_back_sound() -> None:
    w = Writer(Delimiters("*", ">", "~", "^"), newline="\r\n")
    groups = [
        GroupSpec("PR", "ACME", "SHOP", 17, WHEN, [SetSpec("855", n, _ack(w, f"PO-{n}")) for n in (1, 2)]),
        GroupSpec("PR", "ACME", "SHOP", 18, WHEN, [SetSpec("855", "ABC9", _ack(w, "PO-3"))]),
    ]
    data = w.write(w.interchange(HEADER, groups))
    assert b"SE*6*0001~\r\n" in data and b"GE*2*17~\r\n" in data and b"IEA*2*000004711~\r\n" in data
    assert b"GS*PR*ACME*SHOP*20260115*0930*17*X*004010~" in data
    tm = read(data)
    assert check(tm) == []
    assert [s.control_number for s in tm.sets()] == ["0001", "0002", "ABC9"]
    assert [b.get(3) for s in tm.sets() if (b := s.first("BAK"))] == ["PO-1", "PO-2", "PO-3"]


def test_gs04_has_two_digit_year_before_004010() -> None:
    w = Writer()
    segs = w.interchange(HEADER, [GroupSpec("PO", "A", "B", 1, WHEN, [], version="003040")])
    assert segs[1].get(4) == "260115"


def test_composites_join_with_the_component_separator() -> None:
    w = Writer(Delimiters("*", ":", "~"))
    seg = w.segment("MAN", "GM", ("00", "123456789012345678"))
    assert w.render(seg) == "MAN*GM*00:123456789012345678~"
    assert w.delimiters.components(seg.get(2)) == ["00", "123456789012345678"]


@pytest.mark.parametrize(
    ("build", "why"),
    [
        (lambda w: w.segment("N1", "ST", "A*B"), "holds '\\*'"),
        (lambda w: w.segment("N1", "ST", "A~B"), "holds '~'"),
        (lambda w: w.segment("N1", "ST", "line\nbreak"), "holds '\\\\n'"),
        (lambda w: w.segment("N1", "ST", ("A:B", "C")), "component 'A:B' holds a separator"),
        (lambda w: w.segment("N 1", "ST"), "segment tag"),
        (lambda w: w.isa(IsaHeader("ZZ", "A" * 16, "ZZ", "B", 1, WHEN)), "ISA06 .* longer than 15"),
        (lambda w: w.isa(IsaHeader("ZZ", "A", "ZZ", "B", 10**9, WHEN)), "ISA13 .* longer than 9"),
        (lambda w: w.write([w.segment("N1", "ST", "Ωmega")]), "not latin-1"),
    ],
    ids=["element-sep", "terminator", "newline", "component", "tag", "isa06-width", "isa13-width", "latin1"],
)
def test_values_that_would_corrupt_the_file_are_refused(build: object, why: str) -> None:
    w = Writer(Delimiters("*", ":", "~"))
    with pytest.raises(ValidationError, match=why):
        build(w)  # type: ignore[operator]


@pytest.mark.parametrize(
    ("delimiters", "newline"),
    [
        (Delimiters("*", "*", "~"), ""),
        (Delimiters("A", ":", "~"), ""),
        (Delimiters(" ", ":", "~"), ""),
        (Delimiters("*", ":", "\n"), "\n"),
        (Delimiters("*", ":", "~"), "\t"),
    ],
    ids=["duplicate", "alphanumeric", "space-element", "newline-after-newline", "odd-newline"],
)
def test_unusable_delimiters_are_refused(delimiters: Delimiters, newline: str) -> None:
    with pytest.raises(ValidationError):
        Writer(delimiters, newline)


def test_space_terminator_round_trips() -> None:
    w = Writer(Delimiters("*", ">", " "), newline="\r\n")
    sets = [SetSpec("850", 1, [w.segment("BEG", "00", "SA", "PO-1", "", "20260115")])]
    tm = read(w.write(w.interchange(HEADER, [GroupSpec("PO", "A", "B", 1, WHEN, sets)])))
    assert check(tm) == []
    assert tm.interchanges[0].sender_id == "ACME"
    assert next(tm.sets()).segments == sets[0].body
