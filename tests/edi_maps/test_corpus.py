"""Every real file of the shared X12 corpus: read, envelope-checked against INDEX.md, 850s mapped.

The corpus lives outside the repository (../shared/corpus/x12, licences vary). Without it these
tests skip, unless OMS_REQUIRE_SERVICES=1 (CI), where they fail.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from functools import cache
from pathlib import Path

import pytest

from edi_maps import Fault, Finding, Transmission, check, errors, read

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus" / "x12"
REQUIRE = os.environ.get("OMS_REQUIRE_SERVICES") == "1"
FILES = sorted(p.name for p in CORPUS.glob("*.edi")) if CORPUS.is_dir() else []

# INDEX.md names a mismatch by the trailer element it checked
CLAUSE_FAULTS = {
    "SE01": Fault.SE01_COUNT,
    "SE02": Fault.SE02_MISMATCH,
    "GE01": Fault.GE01_COUNT,
    "GE02": Fault.GE02_MISMATCH,
    "IEA01": Fault.IEA01_COUNT,
    "IEA02": Fault.IEA02_MISMATCH,
}
# Clauses of INDEX.md that are artefacts of its own checker, verified by hand against the bytes.
# The test asserts the opposite fact for each (so it fails if the reader starts agreeing).
INDEX_ERRATA = {
    ("850_x12parser_46.edi", "IEA02"): "the index could not read ISA13 of this non-106-wide ISA (it says None); "
    "ISA13 and IEA02 are both 638504569",
    ("mixed_bots-plugins_1.edi", "IEA02"): "the index split this mailbag on the first ISA's delimiters (it counts 5 "
    "interchanges, there are 8 with 3 terminators) and paired IEAs with the wrong ISAs; each IEA02 equals its ISA13",
}
# Real faults the index does not look for (it checks counts and trailer control numbers only).
NOT_CHECKED_BY_INDEX = {
    "850_bots-plugins_3.edi": {Fault.ST02_DUPLICATE},  # both groups hold two sets with ST02 000000001
    "850_bots-plugins_22.edi": {Fault.ST02_DUPLICATE},
}


def _need_corpus() -> None:
    if FILES:
        return
    if REQUIRE:
        pytest.fail(f"X12 corpus required (OMS_REQUIRE_SERVICES=1) but {CORPUS} is missing or empty")
    pytest.skip(reason=f"X12 corpus not found at {CORPUS}")


@cache
def _index() -> dict[str, dict[str, str]]:
    rows: dict[str, dict[str, str]] = {}
    for line in (CORPUS / "INDEX.md").read_text(encoding="utf-8").splitlines():
        if not line.startswith("| ") or line.startswith("| file") or line.startswith("|---"):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split(" | ")]
        rows[cells[0]] = {"types": cells[4], "envelope": cells[-1]}
    return rows


@cache
def _read(name: str) -> Transmission:
    return read((CORPUS / name).read_bytes())


def _raw(name: str) -> str:
    return (CORPUS / name).read_bytes().decode("latin-1")


def test_corpus_is_present_and_indexed() -> None:
    _need_corpus()
    assert len(FILES) >= 100
    assert set(FILES) == set(_index()), "INDEX.md and the corpus folder disagree"


@pytest.mark.parametrize("name", FILES)
def test_file_is_read_with_the_transaction_types_the_index_lists(name: str) -> None:
    tm = _read(name)  # anything but an EdiError fails here; an EdiError too
    types = {ts.id for ts in tm.sets()}
    assert types == set(_index()[name]["types"].split("/")), f"{name}: read sets of types {sorted(types)}"
    for ic in tm.interchanges:
        assert ic.groups, f"{name}: interchange {ic.control_number} at byte {ic.offset} has no group"


@pytest.mark.parametrize("name", [n for n in FILES if _index()[n]["envelope"] == "OK"])
def test_envelope_ok_in_the_index_has_no_errors(name: str) -> None:
    found = check(_read(name))
    allowed = NOT_CHECKED_BY_INDEX.get(name, set())
    unexpected = [str(f) for f in errors(found) if f.fault not in allowed]
    assert not unexpected, f"{name}: {unexpected}"
    # the known extra faults are really there
    assert allowed <= {f.fault for f in found}


def _clauses(envelope: str) -> list[tuple[str, str]]:
    found = []
    for clause in envelope.split("; "):
        if m := re.match(r"(SE0[12]|GE0[12]|IEA0[12])\b", clause):
            found.append((m.group(1), clause))
    return found


@pytest.mark.parametrize("name", [n for n in FILES if _index()[n]["envelope"] != "OK"])
def test_mismatch_in_the_index_is_found(name: str) -> None:
    found = check(_read(name))
    clauses = _clauses(_index()[name]["envelope"])
    assert clauses, f"{name}: cannot parse the index's envelope column"
    for element, clause in clauses:
        fault = CLAUSE_FAULTS[element]
        if (name, element) in INDEX_ERRATA:
            assert fault not in {f.fault for f in found}, f"{name}: {INDEX_ERRATA[name, element]}"
            for ic in _read(name).interchanges:
                assert ic.trailer is not None and ic.trailer.get(2) == ic.header.get(13)
            continue
        hits: list[Finding] = [f for f in found if f.fault is fault]
        assert hits, f"{name}: index says {clause!r}, reader found {[str(f) for f in found]}"
        assert all(f.is_error and f.code for f in hits)


SOUND_850 = [n for n in FILES if "850" in _index()[n]["types"].split("/") and _index()[n]["envelope"] == "OK"]


def _tag(tag: str) -> str:
    return "[\\r\\n]*".join(tag) + "[\\r\\n]*"


@pytest.mark.parametrize("name", SOUND_850)
def test_850_exposes_po_number_ship_to_and_every_line(name: str) -> None:
    tm = _read(name)
    orders = [ts for ts in tm.sets() if ts.id == "850"]
    assert orders
    raw = _raw(name)
    e = tm.interchanges[0].delimiters.element
    assert all(ic.delimiters.element == e for ic in tm.interchanges)  # the crude counts below rely on it
    q = re.escape(e)
    # independent of the reader: PO numbers, ship-to N1s and PO1s found by pattern in the raw
    # bytes (a tag may be wrapped across lines, as in the 80-column files)
    expected_pos = re.findall(rf"(?<![A-Za-z0-9]){_tag('BEG')}{q}[^{q}]*{q}[^{q}]*{q}([^{q}]*){q}", raw)
    expected_ship_to = len(re.findall(rf"(?<![A-Za-z0-9]){_tag('N1')}{q}{_tag('ST')}{q}", raw))
    expected_lines = len(re.findall(rf"(?<![A-Za-z0-9]){_tag('PO1')}{q}", raw))

    pos = []
    ship_to = lines = 0
    for ts in orders:
        beg = ts.first("BEG")
        assert beg is not None and beg.get(3), f"{name}: set {ts.control_number} has no PO number (BEG03)"
        pos.append(beg.get(3))
        for n1 in ts.all("N1"):
            if n1.get(1) == "ST":
                assert n1.get(2) or n1.get(4), f"{name}: ship-to N1 of PO {beg.get(3)} has neither name nor id"
                ship_to += 1
        lines += len(ts.all("PO1"))
    assert pos == [p.replace("\r", "").replace("\n", "") for p in expected_pos], f"PO numbers {pos} read from {name}"
    assert ship_to == expected_ship_to, f"{ship_to} ship-to parties read from {name}, {expected_ship_to} in the file"
    assert lines == expected_lines, f"{lines} PO1 lines read from {name}, {expected_lines} in the file"


def test_corpus_summary_is_as_expected() -> None:
    """The whole corpus in one view: what a user would see if `oms edi check` ran on it."""
    _need_corpus()
    by_fault: Counter[Fault] = Counter()
    sound = 0
    for name in FILES:
        found = errors(check(_read(name)))
        sound += not found
        by_fault.update(f.fault for f in found)
    assert sound >= len(FILES) - 15
    assert by_fault[Fault.SE01_COUNT] >= 6 and by_fault[Fault.IEA02_MISMATCH] >= 7
