"""Envelope checks: each fault found, named with the 997/TA1 code a partner will see."""

from __future__ import annotations

import pytest

from edi_maps import (
    Ack,
    EnvelopeError,
    Fault,
    Finding,
    ak5_codes,
    ak9_codes,
    check,
    errors,
    needs_ta1,
    read,
    require_sound,
    ta1_note_code,
)
from tests.edi_maps.x12text import interchange, order


def _check(text: str) -> list[Finding]:
    return check(read(text.encode("latin-1")))


SOUND = interchange(order("PO-1", 2), order("PO-2", 1, st02="0002"))


def test_a_sound_file_has_no_findings() -> None:
    assert _check(SOUND) == []
    assert require_sound(read(SOUND.encode())) == []


BROKEN = [
    (SOUND.replace("IEA*1*000000123", "IEA*1*000000124"), Fault.IEA02_MISMATCH, Ack.TA1, "001"),
    (SOUND.replace("IEA*1*", "IEA*2*"), Fault.IEA01_COUNT, Ack.TA1, "021"),
    (SOUND.replace("GE*2*7", "GE*2*8"), Fault.GE02_MISMATCH, Ack.AK9, "4"),
    (SOUND.replace("GE*2*7", "GE*3*7"), Fault.GE01_COUNT, Ack.AK9, "5"),
    (SOUND.replace("SE*7*0001", "SE*7*0009"), Fault.SE02_MISMATCH, Ack.AK5, "3"),
    (SOUND.replace("SE*7*0001", "SE*8*0001"), Fault.SE01_COUNT, Ack.AK5, "4"),
    (SOUND.replace("SE*7*0001", "SE*seven*0001"), Fault.SE01_COUNT, Ack.AK5, "4"),
    (SOUND.replace("0002", "0001"), Fault.ST02_DUPLICATE, Ack.AK5, "23"),
    (SOUND.replace("*0001~", "*01~"), Fault.ST02_INVALID, Ack.AK5, "7"),
    (SOUND.replace("*0930*7*X", "*0930*A7*X").replace("GE*2*7", "GE*2*A7"), Fault.GS06_INVALID, Ack.AK9, "6"),
    (SOUND.replace("000000123", "00000123X"), Fault.ISA13_INVALID, Ack.TA1, "018"),
    (SOUND.replace("*000000123*0*P", "*000000123*2*P"), Fault.ISA14_INVALID, Ack.TA1, "019"),
    (SOUND.replace("*000000123*0*P", "*000000123*0*X"), Fault.ISA15_INVALID, Ack.TA1, "020"),
    (SOUND.replace("*260115*0930*U", "*261315*0930*U"), Fault.ISA09_INVALID, Ack.TA1, "014"),
    (SOUND.replace("*260115*0930*U", "*260115*2460*U"), Fault.ISA10_INVALID, Ack.TA1, "015"),
    (SOUND.replace("*00401*", "*0040A*"), Fault.ISA12_INVALID, Ack.TA1, "017"),
]


@pytest.mark.parametrize(("broken", "fault", "ack", "code"), [pytest.param(*b, id=b[1].name) for b in BROKEN])
def test_each_fault_is_found_with_its_ack_code(broken: str, fault: Fault, ack: Ack, code: str) -> None:
    assert broken != SOUND
    found = _check(broken)
    assert [f.fault for f in found] == [fault], [str(f) for f in found]
    assert (found[0].ack, found[0].code) == (ack, code)
    assert found[0].is_error


def test_counts_compare_as_integers() -> None:
    padded = SOUND.replace("SE*7*0001", "SE*0007*0001").replace("GE*2*7", "GE*002*0007").replace("IEA*1*", "IEA*01*")
    assert _check(padded) == []


def test_findings_point_at_the_segment_that_shows_the_fault() -> None:
    data = SOUND.replace("SE*7*0001", "SE*9*0001").encode()
    (f,) = check(read(data))
    assert data[f.offset : f.offset + 9] == b"SE*9*0001"
    assert f.segment_index == 9  # ISA, GS, ST, BEG, N1, PO1, PO1, CTT, SE
    assert (f.interchange, f.group, f.transaction_set) == (0, 0, 0)
    assert "SE01 says 9 but 7 segments from ST to SE were counted" in f.message


def test_duplicate_st02_names_the_second_set() -> None:
    found = _check(SOUND.replace("0002", "0001"))
    assert ak5_codes(found, 0, 0, 1) == ["23"]
    assert ak5_codes(found, 0, 0, 0) == []


def test_ack_code_helpers_collect_per_group_and_set() -> None:
    broken = SOUND.replace("SE*7*0001", "SE*8*0009").replace("GE*2*7", "GE*3*8")
    found = _check(broken)
    assert ak5_codes(found, 0, 0, 0) == ["4", "3"]
    assert ak9_codes(found, 0, 0) == ["5", "4"]
    assert ta1_note_code(found) == "000"


def test_unknown_but_well_formed_version_is_only_a_warning() -> None:
    found = _check(SOUND.replace("*00401*", "*00040*"))
    assert [f.fault for f in found] == [Fault.ISA12_UNKNOWN]
    assert errors(found) == []


def test_ta1_is_owed_when_asked_for_or_when_the_interchange_is_bad() -> None:
    tm = read(SOUND.encode())
    assert not needs_ta1(tm.interchanges[0], check(tm))
    asked = read(SOUND.replace("*000000123*0*P", "*000000123*1*P").encode())
    assert needs_ta1(asked.interchanges[0], check(asked))
    bad = read(SOUND.replace("IEA*1*000000123", "IEA*1*000000999").encode())
    assert needs_ta1(bad.interchanges[0], check(bad))
    assert ta1_note_code(check(bad)) == "001"


def test_interchange_key_drops_padding() -> None:
    tm = read(interchange(order("PO-1", 1), sender="ACME", receiver="SHOP", control="000004711").encode())
    assert tm.interchanges[0].key == ("ZZACME", "ZZSHOP", "000004711")


def test_require_sound_raises_an_envelope_error_naming_the_fault() -> None:
    tm = read(SOUND.replace("GE*2*7", "GE*2*9").encode())
    with pytest.raises(EnvelopeError, match=r"GE02 differs from GS06: GE02 '9' does not match GS06 '7'") as info:
        require_sound(tm)
    assert info.value.offset > 0 and info.value.segment_index > 0
