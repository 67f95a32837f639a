"""The tolerant reader, one oddity at a time, on small files built in the tests."""

from __future__ import annotations

import pytest

from edi_maps import Fault, ParseError, Transmission, check, errors, interchange_texts, read
from tests.edi_maps.x12text import interchange, isa, order


def _read(text: str) -> Transmission:
    return read(text.encode("latin-1"))


def _faults(tm: Transmission) -> list[Fault]:
    return [f.fault for f in check(tm)]


def test_plain_850_gives_po_number_ship_to_and_lines() -> None:
    tm = _read(interchange(order("PO-1001", 3)))
    (ic,) = tm.interchanges
    (ts,) = list(tm.sets())
    assert ts.id == "850" and ts.control_number == "0001"
    beg = ts.first("BEG")
    assert beg is not None and beg.get(3) == "PO-1001"
    ship_to = [s for s in ts.all("N1") if s.get(1) == "ST"]
    assert [s.get(2) for s in ship_to] == ["MAIN STORE"]
    assert [s.get(7) for s in ts.all("PO1")] == ["SKU1", "SKU2", "SKU3"]
    # AK3 positions count ST as 1: BEG 2, N1 3, PO1 4..6, CTT 7, SE 8
    assert [s.position for s in ts.all("PO1")] == [4, 5, 6]
    assert ts.trailer is not None and ts.trailer.position == 8
    assert ic.key == ("ZZSENDER", "ZZRECEIVER", "000000123")
    assert not _faults(tm)


def test_offsets_are_byte_offsets_into_the_file() -> None:
    data = ("\ufeff".encode() + interchange(order("PO-1", 2)).encode("latin-1"))
    tm = read(data)
    ts = next(tm.sets())
    for seg in [ts.header, *ts.segments]:
        assert data[seg.offset : seg.offset + len(seg.tag)].decode() == seg.tag
    assert tm.bom and tm.interchanges[0].offset == 3


def test_utf8_bom_and_latin1_bytes_are_read() -> None:
    text = interchange(order("PO-\xc9T\xc9", 1))  # 0xC9 is not valid UTF-8 on its own
    tm = read(b"\xef\xbb\xbf" + text.encode("latin-1"))
    beg = next(tm.sets()).first("BEG")
    assert beg is not None and beg.get(3) == "PO-ÉTÉ"
    assert not errors(check(tm))


@pytest.mark.parametrize(
    ("e", "comp", "term"),
    [
        ("*", ">", "\n"),
        ("*", ">", "\r"),
        ("*", ">", " "),
        ("*", ">", "|"),
        ("*", ":", "\x15"),
        ("\x1d", "@", "\x1c"),
        ("~", ">", "}"),
        ("|", "^", "~"),
    ],
    ids=["LF", "CR", "space", "pipe", "NAK", "GS-FS", "tilde-elements", "pipe-elements"],
)
def test_any_delimiters_declared_by_the_isa(e: str, comp: str, term: str) -> None:
    po = "PO77" if term == " " else "PO 77"
    text = interchange(order(po, 4, e=e, term=term).replace("MAIN STORE", "MAIN-STORE"), e=e, comp=comp, term=term)
    tm = _read(text)
    ic = tm.interchanges[0]
    assert (ic.delimiters.element, ic.delimiters.component, ic.delimiters.segment) == (e, comp, term)
    ts = next(tm.sets())
    beg = ts.first("BEG")
    assert beg is not None and beg.get(3) == po
    assert len(ts.all("PO1")) == 4
    assert not errors(check(tm))


def test_crlf_framing_and_indentation_between_segments() -> None:
    text = interchange(order("PO-9", 2))
    pretty = "".join(f"{'  ' * (i % 4)}{seg}~\r\n" for i, seg in enumerate(text.split("~")[:-1]))
    tm = _read(pretty)
    ts = next(tm.sets())
    assert [s.tag for s in ts.segments] == ["BEG", "N1", "PO1", "PO1", "CTT"]
    assert not _faults(tm)


def test_cr_terminator_with_lf_framing() -> None:
    tm = _read(interchange(order("PO-9", 2, term="\r\n"), term="\r").replace("~", ""))
    assert tm.interchanges[0].delimiters.segment == "\r"
    assert len(next(tm.sets()).all("PO1")) == 2
    assert not _faults(tm)


def test_isa_not_106_wide_is_split_on_the_element_separator() -> None:
    head = "ISA*00**00**ZZ*SHORTSENDER*ZZ*RCV*260115*0930*U*00401*000000123*0*P*:~"
    text = head + interchange(order("PO-5", 1))[106:]
    tm = _read(text)
    ic = tm.interchanges[0]
    assert not ic.fixed_width
    assert ic.delimiters.component == ":" and ic.sender_id == "SHORTSENDER" and ic.control_number == "000000123"
    found = check(tm)
    assert [f.fault for f in found] == [Fault.ISA_NOT_FIXED_WIDTH]
    assert not errors(found)


def test_line_breaks_inside_segments_are_dropped() -> None:
    text = interchange(order("PO-LONG-NUMBER", 1)).replace("004010", "004\r\n010").replace("PO-LONG", "PO-\nLONG")
    tm = _read(text)
    assert tm.interchanges[0].groups[0].version == "004010"
    beg = next(tm.sets()).first("BEG")
    assert beg is not None and beg.get(3) == "PO-LONG-NUMBER"
    assert not _faults(tm)


def test_line_break_inside_the_isa_when_it_is_not_the_terminator() -> None:
    text = interchange(order("PO-1", 1))
    text = text[:79] + "\n" + text[79:]  # inside ISA10, as some mailers wrap at 80 columns
    tm = _read(text)
    assert tm.interchanges[0].header.get(10) == "0930"
    assert not errors(check(tm))


def test_several_interchanges_each_with_its_own_delimiters() -> None:
    first = interchange(order("PO-A", 1), control="000000001")
    second = interchange(order("PO-B", 2, e="|", term="\n"), e="|", comp="^", term="\n", control="000000002")
    third = interchange(order("PO-C", 3, term="\x15"), comp=":", term="\x15", control="000000003")
    tm = _read(first + "\r\n" + second + third)
    assert [ic.control_number for ic in tm.interchanges] == ["000000001", "000000002", "000000003"]
    assert [ic.delimiters.segment for ic in tm.interchanges] == ["~", "\n", "\x15"]
    pos = [s.first("BEG") for s in tm.sets()]
    assert [b.get(3) for b in pos if b is not None] == ["PO-A", "PO-B", "PO-C"]
    assert [len(s.all("PO1")) for s in tm.sets()] == [1, 2, 3]
    assert not _faults(tm)


def test_each_interchange_text_runs_from_its_isa_to_the_next_one() -> None:
    first = interchange(order("PO-A", 1), control="000000001")
    second = interchange(order("PO-B", 2, e="|", term="\n"), e="|", comp="^", term="\n", control="000000002")
    data = ("\ufeff" + first + "\r\n" + second).encode("utf-8")
    texts = interchange_texts(data, read(data))
    assert texts == [first + "\r\n", second]  # the BOM before the first ISA is left out
    assert [read(t.encode("latin-1")).interchanges[0].control_number for t in texts] == ["000000001", "000000002"]


def test_several_groups_in_one_interchange() -> None:
    text = interchange(order("PO-1", 1))
    gs2 = "GS*PO*SENDER*RECEIVER*20260115*0930*8*X*004010VICS~" + order("PO-2", 2, st02="0002") + "GE*1*8~"
    text = text.replace("IEA*1*", gs2 + "IEA*2*")
    tm = _read(text)
    groups = tm.interchanges[0].groups
    assert [(g.control_number, g.version) for g in groups] == [("7", "004010"), ("8", "004010VICS")]
    assert not _faults(tm)


@pytest.mark.parametrize(
    ("version", "isa11", "repetition"),
    [("00200", "U", None), ("00300", "U", None), ("00401", "^", None), ("00403", "^", "^"),
     ("00403", "U", None), ("00501", "^", "^"), ("00501", "|", "|")],
)
def test_isa11_is_a_repetition_separator_only_from_00403(version: str, isa11: str, repetition: str | None) -> None:
    tm = _read(interchange(order("PO-1", 1), version=version, isa11=isa11))
    ic = tm.interchanges[0]
    assert ic.version == version and ic.delimiters.repetition == repetition
    assert not errors(check(tm))


def test_empty_segments_are_skipped_not_taken_for_end_of_file() -> None:
    text = interchange(order("PO-1", 3)).replace("~PO1", "~~PO1").replace("~CTT", "~~~CTT")
    tm = _read(text)
    assert len(next(tm.sets()).all("PO1")) == 3
    assert not _faults(tm)


def test_missing_trailers_are_recorded_for_the_acknowledgment() -> None:
    text = interchange(order("PO-1", 3))
    tm = _read(text[: text.index("CTT")])  # the file was cut short
    found = {f.fault: f for f in check(tm)}
    assert set(found) == {Fault.SE_MISSING, Fault.GE_MISSING, Fault.IEA_MISSING}
    assert (found[Fault.SE_MISSING].ack.value, found[Fault.SE_MISSING].code) == ("AK5", "2")
    assert (found[Fault.GE_MISSING].ack.value, found[Fault.GE_MISSING].code) == ("AK9", "3")
    assert (found[Fault.IEA_MISSING].ack.value, found[Fault.IEA_MISSING].code) == ("TA1", "023")
    assert len(next(tm.sets()).all("PO1")) == 3  # what was there is still read


def test_a_new_st_before_se_closes_the_open_set_as_missing_its_trailer() -> None:
    broken = order("PO-1", 2).split("SE*")[0]
    assert broken.endswith("CTT*2~")
    tm = _read(interchange(broken, order("PO-2", 1, st02="0002")))
    sets = list(tm.sets())
    assert [s.control_number for s in sets] == ["0001", "0002"]
    missing = [f for f in check(tm) if f.fault is Fault.SE_MISSING]
    assert len(missing) == 1 and missing[0].transaction_set == 0


def test_garbage_before_the_first_isa_is_recorded() -> None:
    tm = _read("Subject: orders\r\n\r\n" + interchange(order("PO-1", 1)))
    assert [f.fault for f in check(tm)] == [Fault.GARBAGE_BEFORE_ISA]
    assert len(tm.interchanges) == 1


def test_segments_outside_envelopes_are_recorded_once_per_run() -> None:
    text = interchange(order("PO-1", 1))
    text = text.replace("GS*", "XX*1~YY*2~GS*")  # between ISA and GS
    text = text.replace("~ST*850", "~ZZ*3~ST*850")  # between GS and ST
    text += "JUNK*4~MORE*5~"  # after IEA
    found = check(_read(text))
    assert [f.fault for f in found] == [Fault.OUTSIDE_INTERCHANGE, Fault.OUTSIDE_GROUP, Fault.OUTSIDE_SET]
    assert all(f.is_error for f in found)


def test_garbage_glued_to_a_later_isa_does_not_hide_it() -> None:
    text = interchange(order("PO-1", 1)) + "junk" + interchange(order("PO-2", 1), control="000000124")
    tm = _read(text)
    assert [ic.control_number for ic in tm.interchanges] == ["000000123", "000000124"]
    assert [f.fault for f in check(tm)] == [Fault.OUTSIDE_INTERCHANGE]


def test_ta1_between_isa_and_gs_is_kept_not_a_fault() -> None:
    text = interchange(order("PO-1", 1)).replace("GS*", "TA1*000000009*260115*0930*A*000~GS*", 1)
    tm = _read(text)
    assert [s.get(1) for s in tm.interchanges[0].ta1] == ["000000009"]
    assert not _faults(tm)


def test_unusable_terminator_is_a_ta1_finding_not_an_exception() -> None:
    text = isa(term="X") + "GS*PO*A*B*20260115*0930*1*X*004010X"
    tm = _read(text)
    found = check(tm)
    assert Fault.ISA_SEGMENT_TERMINATOR in [f.fault for f in found]
    bad = next(f for f in found if f.fault is Fault.ISA_SEGMENT_TERMINATOR)
    assert bad.code == "004" and bad.interchange == 0


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (b"", "empty"),
        (b"   \r\n", "empty"),
        (b"hello world", "no ISA"),
        (b"ISA", "no ISA"),
        (b"ISA*00*", "fewer than 16"),
    ],
)
def test_input_without_a_readable_isa_raises_parse_error(data: bytes, why: str) -> None:
    with pytest.raises(ParseError, match=why) as info:
        read(data)
    assert info.value.offset >= 0


def test_not_bytes_is_a_parse_error() -> None:
    with pytest.raises(ParseError, match="expected the file's bytes"):
        read("ISA*00*" * 20)  # type: ignore[arg-type]
