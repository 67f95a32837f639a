"""pyx12 validation with the oms maps: clean documents, crafted errors, repairs, the real corpus."""

from __future__ import annotations

import os
import threading
from collections import Counter
from pathlib import Path

import pytest
import pyx12.error_handler
import pyx12.map_if
import pyx12.map_index
import pyx12.params
from defusedxml import ElementTree

from edi_maps.pyx12_validate import (
    ISA_QUALIFIERS,
    MAPS_SOURCE,
    ElementFinding,
    Pyx12InputError,
    ValidationReport,
    map_dir,
    validate,
    validate_outbound,
)

CORPUS = Path("/work/shared/corpus/x12")
CORPUS_TYPES = ("850", "855", "856", "810", "846", "860", "997", "mixed")


# ------------------------------------------------------------------------------ builders


def isa(version: str = "00401", control: str = "000000101", sep11: str = "U") -> str:
    return (
        f"ISA*00*          *00*          *ZZ*ACMEBUYER      *12*5551234567     "
        f"*240315*0930*{sep11}*{version}*{control}*0*P*>"
    )


def transaction(set_id: str, control: str, body: list[str], count: int | None = None,
                st03: str | None = None) -> list[str]:
    st = f"ST*{set_id}*{control}" + (f"*{st03}" if st03 else "")
    n = len(body) + 2 if count is None else count
    return [st, *body, f"SE*{n}*{control}"]


def interchange(fic: str, sets: list[list[str]], gs08: str = "004010", version: str = "00401",
                ge01: int | None = None, gs06: str = "7001") -> str:
    segs = [isa(version), f"GS*{fic}*ACMEBUYER*5551234567*20240315*0930*{gs06}*X*{gs08}"]
    for s in sets:
        segs += s
    segs += [f"GE*{len(sets) if ge01 is None else ge01}*{gs06}", "IEA*1*000000101"]
    return "~\n".join(segs) + "~\n"


BEG = "BEG*00*SA*PO-88121**20240315"
PO850 = [
    BEG, "CUR*BY*USD", "REF*DP*038", "REF*IA*77123", "PER*BD*Jane Buyer*TE*5559876543",
    "FOB*PP", "ITD*01*3*2**30**60", "DTM*010*20240322", "DTM*001*20240405",
    "TD5*O*2*UPSN*U*UPS Ground", "N9*L1*SPECIAL INSTRUCTIONS", "MSG*Deliver to dock 4",
    "N1*ST*Acme Store 0042*92*0042", "N2*Receiving", "N3*100 Commerce Way*Suite 5",
    "N4*Springfield*IL*62701*US", "PER*DC*Dock Office*TE*5550001111",
    "N1*BT*Acme Retail Inc*92*0001",
    "PO1*1*12*EA*4.75**UP*012345678905*VN*WID-BLUE*BP*100234", "PID*F****Blue widget",
    "PO4*6*1*EA", "REF*PD*SPRING", "SAC*A*C310***1200", "SDQ*EA*92*0042*6*0043*6",
    "DTM*002*20240322",
    "PO1*2*3*CA*22.10**UP*012345678912*VN*WID-RED", "PID*F****Red widget, case of 6",
    "N1*ST*Acme Store 0043*92*0043",
    "CTT*2*15", "AMT*TT*123.30",
]
PO850_5010 = [BEG, "REF*DP*038", "DTM*002*20240322", "N1*ST*Acme Store 0042*92*0042",
              "N3*100 Commerce Way", "N4*Springfield*IL*62701*US",
              "PO1*1*12*EA*4.75**UP*012345678905", "PID*F****Blue widget", "CTT*1"]
PR855 = [
    "BAK*00*AC*PO-88121*20240315", "REF*VR*V-2231", "DTM*067*20240322",
    "N1*ST*Acme Store 0042*92*0042", "N3*100 Commerce Way", "N4*Springfield*IL*62701*US",
    "PO1*1*12*EA*4.75**UP*012345678905*VN*WID-BLUE", "PID*F****Blue widget",
    "ACK*IA*12*EA*068*20240322",
    "PO1*2*3*CA*22.10**UP*012345678912", "ACK*IB*3*CA*068*20240410", "CTT*2",
]
SH856 = [
    "BSN*00*SHP-5531*20240318*1415*0001", "DTM*011*20240318*1400",
    "HL*1**S*1", "TD1*CTN25*2****G*31.5*LB", "TD5*B*2*UPSN*U*UPS Ground", "REF*BM*BOL-99812",
    "REF*CN*1Z999AA10123456784", "DTM*067*20240322", "N1*ST*Acme Store 0042*92*0042",
    "N3*100 Commerce Way", "N4*Springfield*IL*62701*US", "N1*SF*Widget Works*92*WW01",
    "HL*2*1*O*1", "PRF*PO-88121***20240315", "REF*DP*038",
    "HL*3*2*P*1", "MAN*GM*00001234560000000018",
    "HL*4*3*I*0", "LIN*1*UP*012345678905*VN*WID-BLUE", "SN1*1*12*EA", "PID*F****Blue widget",
    "HL*5*2*P*1", "MAN*GM*00001234560000000025",
    "HL*6*5*I*0", "LIN*2*UP*012345678912*VN*WID-RED", "SN1*2*3*CA", "PO4*6*1*EA",
    "CTT*6",
]
IN810 = [
    "BIG*20240318*INV-40021*20240315*PO-88121", "NTE*GEN*Thank you", "CUR*SE*USD",
    "REF*DP*038", "N1*RE*Widget Works*92*WW01", "N3*9 Factory Rd", "N4*Dayton*OH*45402*US",
    "N1*ST*Acme Store 0042*92*0042", "ITD*01*3*2**30**60", "DTM*011*20240318",
    "IT1*1*12*EA*4.75**UP*012345678905*VN*WID-BLUE", "PID*F****Blue widget",
    "IT1*2*3*CA*22.10**UP*012345678912", "SAC*C*D240***500",
    "TDS*12830", "CAD*M***UPSN*UPS Ground", "SAC*A*C310***1200", "ISS*15*EA*31.5*LB",
    "CTT*2",
]
IB846 = [
    "BIA*00*DD*INV-20240315*20240315*0600", "DTM*007*20240315", "N1*SU*Widget Works*92*WW01",
    "LIN**UP*012345678905*VN*WID-BLUE", "PID*F****Blue widget", "QTY*33*140*EA",
    "QTY*17*180*EA", "SCH*200*EA***018*20240401", "DTM*018*20240401",
    "LIN**UP*012345678912*VN*WID-RED", "QTY*33*0*CA", "CTT*2",
]
PC860 = [
    "BCH*04*SA*PO-88121**1*20240315", "REF*DP*038", "DTM*002*20240329",
    "N1*ST*Acme Store 0042*92*0042", "POC*1*QI*20*8*EA*4.75**UP*012345678905",
    "PID*F****Blue widget", "POC*2*DI*0*3*CA*22.10**UP*012345678912", "CTT*2",
]
FA997 = ["AK1*PO*7001", "AK2*850*0001", "AK3*BEG*2**8", "AK4*5*373*8*20241301", "AK5*R*5",
         "AK2*850*0002", "AK5*A", "AK9*P*2*2*1"]

CLEAN_DOCS = {
    "850 004010": interchange("PO", [transaction("850", "0001", PO850)]),
    "850 004010VICS": interchange("PO", [transaction("850", "0001", PO850)], gs08="004010VICS"),
    "850 005010": interchange("PO", [transaction("850", "0001", PO850_5010, st03="005010")],
                              gs08="005010", version="00501"),
    "850 005010VICS in 00401": interchange("PO", [transaction("850", "0001", PO850_5010)],
                                           gs08="005010VICS"),
    "855": interchange("PR", [transaction("855", "0001", PR855)]),
    "855 004010UCS": interchange("PR", [transaction("855", "0001", PR855)], gs08="004010UCS"),
    "856 SOPI": interchange("SH", [transaction("856", "0001", SH856)]),
    "856 005010": interchange("SH", [transaction("856", "0001", SH856)], gs08="005010",
                              version="00501"),
    "810": interchange("IN", [transaction("810", "0001", IN810)]),
    "810 005010": interchange("IN", [transaction("810", "0001", IN810)], gs08="005010",
                              version="00501"),
    "846": interchange("IB", [transaction("846", "0001", IB846)]),
    "860": interchange("PC", [transaction("860", "0001", PC860)]),
    "997": interchange("FA", [transaction("997", "0001", FA997)]),
    "997 005010": interchange("FA", [transaction("997", "0001", FA997)], gs08="005010",
                              version="00501"),
    "two sets": interchange("PO", [transaction("850", "0001", PO850),
                                   transaction("850", "0002", PO850_5010)]),
}


def only_element(report: ValidationReport) -> ElementFinding:
    [group] = report.groups
    [st] = group.sets
    [segment] = st.segments
    [element] = segment.elements
    return element


def set_codes(report: ValidationReport) -> tuple[str, ...]:
    return report.groups[0].sets[0].codes


# ---------------------------------------------------------------------------- clean documents


@pytest.mark.parametrize("name", sorted(CLEAN_DOCS))
def test_realistic_documents_validate_clean(name: str) -> None:
    report = validate(CLEAN_DOCS[name])
    assert report.findings() == ()
    assert report.clean and report.validated and report.notes == ()
    assert all(g.ack_code == "A" and g.sets_accepted == g.sets_received for g in report.groups)


def test_outbound_check_accepts_clean_and_rejects_broken() -> None:
    assert validate_outbound(CLEAN_DOCS["856 SOPI"]) == (True, ())
    ok, findings = validate_outbound(interchange("IN", [transaction("810", "1", IN810)]))
    assert not ok and any("329" in f or "ST02" in f or "too short" in f for f in findings)
    ok, findings = validate_outbound("ISA*00*x~")
    assert not ok and findings


# ------------------------------------------------------------------------------ crafted errors


def test_wrong_se01_is_ak5_code_4() -> None:
    report = validate(interchange("PO", [transaction("850", "0001", PO850, count=7)]))
    [group] = report.groups
    assert group.sets[0].ack_code == "R" and "4" in set_codes(report)
    assert group.ack_code == "R" and group.sets_accepted == 0


def test_bad_date_in_beg05_is_ak4_code_8_naming_373() -> None:
    body = ["BEG*00*SA*PO-88121**20241301", *PO850[1:]]
    report = validate(interchange("PO", [transaction("850", "0001", body)]))
    segment = report.groups[0].sets[0].segments[0]
    assert (segment.segment_id, segment.position, segment.codes) == ("BEG", 2, ("8",))
    element = only_element(report)
    assert (element.refdes, element.position, element.element_ref, element.code,
            element.bad_value) == ("BEG05", 5, "373", "8", "20241301")
    assert set_codes(report) == ("5",)


def test_missing_mandatory_element_is_ak4_code_1() -> None:
    body = [*PO850[:18], "PO1*1**EA*4.75**UP*012345678905", *PO850[19:]]
    element = only_element(validate(interchange("PO", [transaction("850", "0001", body)])))
    assert (element.refdes, element.element_ref, element.code) == ("PO102", "330", "1")


def test_bad_code_value_is_ak4_code_7() -> None:
    body = [BEG, "CUR*BY*XYZ", *PO850[2:]]
    element = only_element(validate(interchange("PO", [transaction("850", "0001", body)])))
    assert (element.refdes, element.code, element.bad_value) == ("CUR02", "7", "XYZ")


def test_first_element_code_is_reported_as_bad_code_not_missing_segment() -> None:
    body = [*PR855[:8], "ACK*XX*12*EA*068*20240322", *PR855[9:]]
    element = only_element(validate(interchange("PR", [transaction("855", "0001", body)])))
    assert (element.segment_id, element.position, element.code) == ("ACK", 1, "7")


def test_too_long_is_ak4_code_5() -> None:
    body = ["BEG*00*SA*PO-0123456789012345678901**20240315", *PO850[1:]]
    element = only_element(validate(interchange("PO", [transaction("850", "0001", body)])))
    assert (element.element_ref, element.code) == ("324", "5")


def test_unknown_segment_is_ak3_code_1_with_position_from_st() -> None:
    body = [BEG, "ZZZ*1", *PO850[1:]]
    report = validate(interchange("PO", [transaction("850", "0001", body)]))
    [segment] = report.groups[0].sets[0].segments
    assert (segment.segment_id, segment.position, segment.codes) == ("ZZZ", 3, ("1",))


def test_duplicate_st02_is_ak5_code_23() -> None:
    report = validate(interchange("PO", [transaction("850", "0001", PO850),
                                         transaction("850", "0001", PO850_5010)]))
    [group] = report.groups
    assert [s.codes for s in group.sets] == [(), ("23",)]
    assert (group.ack_code, group.sets_received, group.sets_accepted) == ("P", 2, 1)


def test_wrong_ge01_is_ak9_code_5() -> None:
    report = validate(interchange("PO", [transaction("850", "0001", PO850)], ge01=3))
    [group] = report.groups
    assert group.codes == ("5",) and group.ack_code == "R"
    assert (group.sets_declared, group.sets_received) == (3, 1)


def test_group_without_a_map_is_a_finding_not_an_exception() -> None:
    report = validate(interchange("SH", [transaction("856", "0001", SH856)], gs08="003060"))
    [group] = report.groups
    assert not group.supported and group.codes == ("2",) and group.sets_received == 1
    assert not report.validated and not report.clean
    assert "Map not found" in group.messages[0]


def test_mapped_group_still_validates_next_to_an_unmapped_one() -> None:
    text = interchange("PO", [transaction("850", "0001", PO850)])
    extra = "GS*SC*A*B*20240315*0930*9*X*004010~\nST*832*1~\nSE*2*1~\nGE*1*9~\n"
    text = text.replace("IEA*1*", extra + "IEA*2*")
    report = validate(text)
    assert [(g.functional_id, g.supported, g.ack_code) for g in report.groups] == [
        ("PO", True, "A"), ("SC", False, "R")]
    assert report.groups[1].codes == ("1",) and report.interchange == ()


# ------------------------------------------------------------------------- repaired input


def test_isa12_00300_validates_through_the_rewrite() -> None:
    text = interchange("PO", [transaction("850", "0001", PO850)], version="00300")
    report = validate(text)
    assert report.clean
    assert any("00300" in note for note in report.notes)


def test_isa12_00403_with_repetition_separator_validates() -> None:
    text = interchange("PO", [transaction("850", "0001", PO850)]).replace("*U*00401*", "*^*00403*")
    report = validate(text)
    assert report.clean and len(report.notes) == 2


def test_bom_latin1_and_empty_segments_do_not_crash() -> None:
    text = interchange("PO", [transaction("850", "0001", PO850)])
    text = "\ufeff" + text.replace("N2*Receiving", "N2*Réception café")
    text = text.replace("REF*DP*038~", "REF*DP*038~~\n~")
    report = validate(text)
    assert report.validated
    assert any("byte-order" in n for n in report.notes)
    assert any("2 empty segment" in n for n in report.notes)
    # X12's character sets have no accented letters: a finding, not a crash
    element = only_element(report)
    assert (element.refdes, element.code, element.bad_value) == ("N201", "6", "Réception café")


def test_short_isa_is_padded_and_garbage_raises_our_error() -> None:
    text = CLEAN_DOCS["846"].replace("*ACMEBUYER      *", "*ACMEBUYER*", 1)
    report = validate(text)
    assert report.clean and any("padded" in n for n in report.notes)
    with pytest.raises(Pyx12InputError):
        validate("GS*PO*A*B~")
    with pytest.raises(Pyx12InputError):
        validate("ISA*00*  *00~")


def test_validation_restores_pyx12_and_is_thread_safe() -> None:
    original = pyx12.error_handler.err_handler
    docs = [CLEAN_DOCS["810"], interchange("PO", [transaction("850", "0001", PO850, count=9)])]
    results: dict[int, bool] = {}

    def run(i: int) -> None:
        results[i] = validate(docs[i % 2]).clean

    threads = [threading.Thread(target=run, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == {i: i % 2 == 0 for i in range(6)}
    assert pyx12.error_handler.err_handler is original


# ----------------------------------------------------------------------------- map directory


def test_map_dir_merges_pyx12_data_with_our_overlay() -> None:
    path = map_dir()
    assert not (MAPS_SOURCE / "dataele.xml").exists() and not (MAPS_SOURCE / "codes.xml").exists()
    dataele = {e.get("ele_num") for e in ElementTree.parse(path / "dataele.xml").getroot()}
    assert {"92", "330", "587", "1019", "396", "76", "668", "670", "100", "373"} <= dataele
    for version in ("00401", "00501"):
        root = ElementTree.parse(path / f"x12.control.{version}.xml").getroot()
        for elem in root.iter("element"):
            if elem.get("xid") in ("ISA05", "ISA07"):
                codes = tuple(c.text for c in elem.iter("code"))
                assert codes == ISA_QUALIFIERS
    assert map_dir() == path


def test_every_gs08_variant_and_map_resolves_and_loads() -> None:
    index = pyx12.map_index.map_index(str(map_dir()))
    params = pyx12.params.ParamsBase()
    wanted = {"PO": "850", "PC": "860", "PR": "855", "SH": "856", "IN": "810", "IB": "846",
              "FA": "997"}
    for icvn in ("00401", "00501"):
        for fic, ts in wanted.items():
            for vriic in ("004010", "004010VICS", "004010UCS"):
                assert index.get_filename(icvn, vriic, fic) == f"{ts}.4010.xml"
            if ts in ("850", "856", "810", "997"):
                for vriic in ("005010", "005010VICS", "005010UCS"):
                    assert index.get_filename(icvn, vriic, fic) == f"{ts}.5010.xml"
    for xml in sorted(MAPS_SOURCE.glob("[0-9]*.xml")):
        root = pyx12.map_if.load_map_file(xml.name, params, str(map_dir()))
        assert root.getnodebypath("/ISA_LOOP/GS_LOOP/ST_LOOP/SE") is not None


# ------------------------------------------------------------------------------ real corpus


def _interchanges(raw: bytes) -> list[str]:
    """A naive split on "ISA" + element separator; the real reader lives in edi_maps.reader."""
    text = raw.decode("latin-1").lstrip("\ufeff").removeprefix("\xef\xbb\xbf").lstrip()
    if not text.startswith("ISA") or len(text) < 4:
        return [text]
    marker = "ISA" + text[3]
    return [marker + part for part in text.split(marker) if part.strip()]


def test_every_corpus_file_validates_without_crashing() -> None:
    if not CORPUS.is_dir():
        if os.environ.get("OMS_REQUIRE_SERVICES") == "1":
            pytest.fail(f"corpus required (OMS_REQUIRE_SERVICES=1) but {CORPUS} is absent")
        pytest.skip(reason=f"{CORPUS} is absent")
    summary: dict[str, Counter[str]] = {}
    for path in sorted(CORPUS.glob("*.edi")):
        kind = path.name.split("_")[0]
        if kind not in CORPUS_TYPES:
            continue
        counts = summary.setdefault(kind, Counter())
        counts["files"] += 1
        clean = True
        for text in _interchanges(path.read_bytes()):
            try:
                report = validate(text)
            except Pyx12InputError:
                clean = False
                continue
            clean &= report.clean
            assert isinstance(report.findings(), tuple)
        counts["clean" if clean else "with findings"] += 1
    assert summary
    print("\npyx12 corpus validation (files, clean, with findings):")
    for kind, counts in sorted(summary.items()):
        print(f"  {kind:>6}: {counts['files']:3d} files, {counts['clean']:3d} clean, "
              f"{counts['with findings']:3d} with findings, 0 crashed")
