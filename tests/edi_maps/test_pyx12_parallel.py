"""Large interchanges are validated by pyx12 in worker processes, one chunk of whole sets each;
the report is exactly the one a single run over the whole text gives (``==`` on the dataclasses).

The pool is the module's own and is reused by every test here; ``parallel_from=0`` forces the
parallel path on small files so the suite stays quick. Which path ran is read from the module's
log records, the way an operator would see it.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal

import pytest

from edi_maps import interchange_texts, read
from edi_maps.pyx12_validate import PARALLEL_SEGMENTS, ValidationReport, validate
from tests.edi_maps.test_corpus import CORPUS, FILES, _need_corpus
from tests.edi_maps.x12text import change, isa, order

LOGGER = "edi_maps.pyx12_validate"
FORCE = {"workers": 2, "parallel_from": 0}


def group(fic: str, gs06: str, sets: list[str], *, ge01: int | None = None, ge02: str | None = None,
          gs08: str = "004010") -> str:
    gs = f"GS*{fic}*SENDER*RECEIVER*20260115*0930*{gs06}*X*{gs08}~"
    return gs + "".join(sets) + f"GE*{len(sets) if ge01 is None else ge01}*{gs06 if ge02 is None else ge02}~"


def envelope(*groups: str, iea01: int | None = None, iea02: str = "000000123", **isa_kw: str) -> str:
    return isa(**isa_kw) + "".join(groups) + f"IEA*{len(groups) if iea01 is None else iea01}*{iea02}~"


def orders(count: int, first: int = 1) -> list[str]:
    """850s of uneven size (3 to 42 PO1 lines), so the chunks are balanced by segments, not sets."""
    return [order(f"PO{i:05d}", 3 + (i * 7) % 40, st02=f"{i:04d}") for i in range(first, first + count)]


def compare(text: str, caplog: pytest.LogCaptureFixture, *, split: bool = True, **options: int) -> ValidationReport:
    """The parallel report, asserted equal to one run's; ``split`` says whether chunks were used."""
    one = validate(text, workers=1)
    caplog.clear()
    with caplog.at_level(logging.DEBUG, logger=LOGGER):
        many = validate(text, **(options or FORCE))
    chunked = any("chunks" in r.getMessage() for r in caplog.records if r.name == LOGGER)
    assert chunked is split, [r.getMessage() for r in caplog.records if r.name == LOGGER]
    assert many == one
    return many


# ------------------------------------------------------------------------------ clean files


def test_many_orders_give_the_same_clean_report(caplog: pytest.LogCaptureFixture) -> None:
    report = compare(envelope(group("PO", "7", orders(24))), caplog)
    assert report.clean and report.validated
    [g] = report.groups
    assert (g.sets_declared, g.sets_received, g.sets_accepted) == (24, 24, 24)
    assert [s.control_number for s in g.sets] == [f"{i:04d}" for i in range(1, 25)]


@pytest.mark.parametrize("workers", [3, 5])
def test_more_chunks_than_cores_still_merge_in_order(workers: int, caplog: pytest.LogCaptureFixture) -> None:
    report = compare(envelope(group("PO", "7", orders(11))), caplog, workers=workers, parallel_from=0)
    assert [s.control_number for s in report.groups[0].sets] == [f"{i:04d}" for i in range(1, 12)]


def test_default_threshold_splits_a_large_interchange_only(caplog: pytest.LogCaptureFixture) -> None:
    sets = [order(f"PO{i:05d}", 96, st02=f"{i:04d}") for i in range(1, 42)]
    large = envelope(group("PO", "7", sets))
    assert large.count("~") >= PARALLEL_SEGMENTS
    report = compare(large, caplog, workers=2)
    assert report.clean and report.groups[0].sets_received == 41
    compare(envelope(group("PO", "7", sets[:3])), caplog, split=False, workers=2)


# ------------------------------------------------------------------------------ errors in sets


def broken_orders() -> list[str]:
    """Twelve 850s, with errors at both ends and around every likely chunk boundary."""
    sets = orders(12)
    sets[0] = sets[0].replace("*20260115~", "*20261301~", 1)  # BEG05 not a date: AK4 8
    sets[3] = sets[3].replace("PO1*2*3*EA", "PO1*2**EA", 1)  # PO102 missing: AK4 1
    sets[4] = order("PO00005", 9, st02="0005", se01=7)  # SE01 wrong: AK5 4
    sets[5] = sets[5].replace("N1*ST*", "ZZZ*1~N1*ST*", 1)  # unknown segment: AK3 1 at 3
    head, tail = sets[6].rsplit("*0007~", 1)
    sets[6] = head + "*0070~" + tail  # SE02 differs from ST02: AK5 3
    sets[11] = sets[11].replace("CTT*", "CTT*X", 1)  # CTT01 not numeric
    return sets


@pytest.mark.parametrize("workers", [2, 3, 4])
def test_set_errors_keep_their_set_and_segment_positions(workers: int, caplog: pytest.LogCaptureFixture) -> None:
    report = compare(envelope(group("PO", "7", broken_orders())), caplog, workers=workers, parallel_from=0)
    [g] = report.groups
    assert (g.ack_code, g.sets_received, g.sets_accepted) == ("P", 12, 6)
    rejected = {s.control_number: s for s in g.sets if not s.accepted}
    assert sorted(rejected) == ["0001", "0004", "0005", "0006", "0007", "0012"]
    [beg] = rejected["0001"].segments
    assert (beg.segment_id, beg.position, beg.elements[0].refdes, beg.elements[0].code) == ("BEG", 2, "BEG05", "8")
    [po] = rejected["0004"].segments
    assert (po.segment_id, po.position, po.elements[0].refdes, po.elements[0].code) == ("PO1", 5, "PO102", "1")
    assert "4" in rejected["0005"].codes
    [zzz] = rejected["0006"].segments
    assert (zzz.segment_id, zzz.position, zzz.codes) == ("ZZZ", 3, ("1",))
    assert "3" in rejected["0007"].codes


# ------------------------------------------------------------------------ groups and envelope


def test_several_groups_and_one_without_a_map(caplog: pytest.LogCaptureFixture) -> None:
    unmapped = group("SC", "8", ["ST*832*0001~BCT*PS~SE*3*0001~", "ST*832*0002~BCT*PS~SE*3*0002~"])
    changes = [change(f"PO{i:05d}", "1*QI*20*8*EA*4.75**UP*012345678905", st02=f"{i:04d}") for i in (1, 2, 3)]
    text = envelope(group("PO", "7", orders(5)), unmapped, group("PC", "9", changes),
                    group("PO", "10", orders(4, first=6)))
    report = compare(text, caplog)
    assert [(g.functional_id, g.supported, g.sets_received) for g in report.groups] == [
        ("PO", True, 5), ("SC", False, 2), ("PC", True, 3), ("PO", True, 4)]
    assert any("IEA01 lowered by 1" in n for n in report.notes)
    assert report.interchange == ()


def test_envelope_faults_come_out_once_as_in_one_run(caplog: pytest.LogCaptureFixture) -> None:
    text = envelope(
        group("PO", "7", orders(4), ge01=9),  # GE01 counts 9 sets: AK9 5
        group("PO", "7", orders(3, first=5), ge02="77"),  # GS06 repeated, GE02 differs
        group("PO", "12", orders(3, first=8)),
        iea01=5, iea02="000000999",  # IEA01 and IEA02 wrong: TA1 021, 001
    )
    report = compare(text, caplog, workers=3, parallel_from=0)
    first, second, third = report.groups
    assert "5" in first.codes and (first.sets_declared, first.sets_received) == (9, 4)
    assert {"4", "6"} <= set(second.codes)
    assert third.ack_code == "A"
    assert sorted(f.code for f in report.interchange) == ["001", "021"]


def test_repaired_text_keeps_its_notes(caplog: pytest.LogCaptureFixture) -> None:
    text = "\ufeff" + envelope(group("PO", "7", orders(6)), version="00300")
    text = text.replace("~ST*850*0003~", "~~\n~ST*850*0003~")
    report = compare(text, caplog)
    assert report.clean
    assert any("byte-order" in n for n in report.notes)
    assert any("00300" in n for n in report.notes)
    assert any("2 empty segment" in n for n in report.notes)


# ------------------------------------------------------------------------------- one run instead


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(envelope(group("PO", "7", [*orders(3), order("PO9", 4, st02="0002")])), id="ST02 repeated"),
        pytest.param(envelope(group("PO", "7", [orders(3)[0].rsplit("SE*", 1)[0], *orders(2, first=2)])),
                     id="SE missing"),
        pytest.param(envelope(group("PO", "7", orders(3))).replace("GE*3*7~", ""), id="GE missing"),
        pytest.param(envelope(group("PO", "7", orders(1))), id="one set"),
        pytest.param(envelope(group("PO", "7", orders(3))) * 2, id="two interchanges"),
    ],
)
def test_unsafe_splits_validate_in_one_run(text: str, caplog: pytest.LogCaptureFixture) -> None:
    compare(text, caplog, split=False)


def test_a_pyx12_failure_in_a_chunk_falls_back_to_one_run(caplog: pytest.LogCaptureFixture) -> None:
    # _prepare finds a map for GS08 "004010 " (it strips), pyx12 does not and stops the run
    text = envelope(group("PO", "7", orders(3)), group("PO", "8", orders(3, first=4), gs08="004010 "))
    report = compare(text, caplog, split=False)
    assert not report.validated and report.interchange[-1].code in ("not_x12", "pyx12_error")
    assert report.groups[0].sets_received == 3


def test_lost_workers_cost_time_not_findings(caplog: pytest.LogCaptureFixture) -> None:
    text = envelope(group("PO", "7", broken_orders()))
    compare(text, caplog)
    pool = ("ForkServerProcess", "SpawnProcess")
    workers = [p for p in multiprocessing.active_children() if p.name.startswith(pool)]
    assert workers
    for p in workers:
        os.kill(p.pid or 0, signal.SIGKILL)
    for p in workers:
        p.join(10)
    compare(text, caplog, split=False)
    assert any("failed" in r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)
    compare(text, caplog)  # a new pool


# ------------------------------------------------------------------------------ real corpus


def test_every_corpus_interchange_with_several_sets(caplog: pytest.LogCaptureFixture) -> None:
    _need_corpus()
    split = checked = 0
    for name in FILES:
        raw = (CORPUS / name).read_bytes()
        tm = read(raw)
        for ic, text in zip(tm.interchanges, interchange_texts(raw, tm), strict=True):
            if sum(len(g.sets) for g in ic.groups) < 2:
                continue
            one = validate(text, workers=1)
            caplog.clear()
            with caplog.at_level(logging.DEBUG, logger=LOGGER):
                many = validate(text, **FORCE)
            assert many == one, name
            checked += 1
            split += any("chunks" in r.getMessage() for r in caplog.records if r.name == LOGGER)
    print(f"\n{checked} corpus interchanges with several sets, {split} validated in chunks")
    assert checked >= 30 and split >= checked // 2
