"""Our 997/TA1 writer: what a partner reads in the answer to clean and broken 850s, and the corpus."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import pytest

from edi_maps import (
    Delimiters,
    Group,
    GroupSpec,
    IsaHeader,
    MappingError,
    Segment,
    SetSpec,
    Transmission,
    ValidationError,
    Writer,
    check,
    errors,
    read,
)
from edi_maps.ack import Acknowledgment, GroupAck, AckStatus, acknowledge, read_997
from edi_maps.findings import Ack
from edi_maps.pyx12_validate import validate
from tests.edi_maps.test_corpus import CORPUS, FILES, _need_corpus

from .x12text import isa

WHEN = dt.datetime(2026, 1, 15, 9, 30)
NOW = dt.datetime(2026, 2, 1, 10, 5)
W = Writer(Delimiters("*", ">", "~"))


class Numbers:
    """Hands out control numbers as the store's counters would, and remembers them."""

    def __init__(self) -> None:
        self.next = {"isa": 501, "gs": 71, "st": 9001}
        self.handed: dict[str, list[int]] = {"isa": [], "gs": [], "st": []}

    def __call__(self, kind: str, count: int) -> list[int]:
        first = self.next[kind]
        self.next[kind] += count
        got = list(range(first, first + count))
        self.handed[kind] += got
        return got


def po(number: str = "PO-1", date: str = "20260115", lines: int = 2) -> list[Segment]:
    return [
        W.segment("BEG", "00", "SA", number, "", date),
        W.segment("N1", "ST", "MAIN STORE", "92", "0042"),
        *(W.segment("PO1", str(i), "2", "EA", "9.99", "", "VP", f"SKU{i}") for i in range(1, lines + 1)),
        W.segment("CTT", str(lines)),
    ]


def group(*sets: SetSpec, gs06: int = 7, sender: str = "BUYERAPP", receiver: str = "SELLERAPP",
          version: str = "004010") -> GroupSpec:
    return GroupSpec("PO", sender, receiver, gs06, WHEN, sets, version=version)


def purchase_orders(*groups: GroupSpec, ack_requested: bool = False, version: str = "00401",
                    writer: Writer = W) -> bytes:
    header = IsaHeader("ZZ", "BUYER", "ZZ", "SELLER", 123, WHEN, version=version, ack_requested=ack_requested)
    return writer.write(writer.interchange(header, groups))


def answer(data: bytes, numbers: Numbers | None = None, *, validated: bool = True,
           delimiters: Delimiters | None = None) -> Acknowledgment:
    tm = read(data)
    report = validate(data.decode("latin-1")) if validated else None
    return acknowledge(tm.interchanges[0], check(tm), report, interchange_index=0,
                       numbers=numbers or Numbers(), delimiters=delimiters, now=NOW)  # fmt: skip


def segments(ack: Acknowledgment) -> list[Segment]:
    """Every segment of the answer in file order, envelope included, as the reader sees them."""
    tm = read(ack.data)
    assert len(tm.interchanges) == 1
    ic = tm.interchanges[0]
    out = [ic.header, *ic.ta1]
    for g in ic.groups:
        out.append(g.header)
        for ts in g.sets:
            out += [ts.header, *ts.segments, *([ts.trailer] if ts.trailer else [])]
        out += [g.trailer] if g.trailer else []
    return out + ([ic.trailer] if ic.trailer else [])


def lines(ack: Acknowledgment, *tags: str) -> list[str]:
    return [str(s) for s in segments(ack) if s.tag in tags]


def sound(ack: Acknowledgment) -> Transmission:
    tm = read(ack.data)
    assert errors(check(tm)) == [], ack.data
    return tm


# ---------------------------------------------------------------------------- hand-built 850s


def test_a_clean_order_is_accepted_by_a_997_that_reads_back_sound_and_validates() -> None:
    ack = answer(purchase_orders(group(SetSpec("850", 1, po()))))
    assert lines(ack, "AK1", "AK2", "AK5", "AK9") == ["AK1*PO*7", "AK2*850*0001", "AK5*A", "AK9*A*1*1*1"]
    tm = sound(ack)
    report = validate(ack.data.decode("latin-1"))
    assert report.clean and not report.notes, report.findings()
    ic = tm.interchanges[0]
    assert (ic.sender_id, ic.receiver_id, ic.version, ic.usage, ic.ack_requested) == (
        "SELLER", "BUYER", "00401", "P", False,
    )  # fmt: skip
    gs = ic.groups[0].header
    assert gs.elements[:5] == ("FA", "SELLERAPP", "BUYERAPP", "20260201", "1005") and gs.get(8) == "004010"
    assert not ack.ta1 and ack.status is AckStatus.ACCEPTED
    assert [g.status for g in ack.groups] == [AckStatus.ACCEPTED]
    assert [s.status for s in ack.groups[0].sets] == [AckStatus.ACCEPTED]
    assert ack.summary == "997 for PO group 7: 1 set, 1 accepted, 0 rejected"


def test_a_wrong_se01_rejects_the_set_with_code_4() -> None:
    data = purchase_orders(group(SetSpec("850", 1, po()), SetSpec("850", 2, po("PO-2"))))
    ack = answer(data.replace(b"SE*7*0002~", b"SE*30*0002~"))
    assert lines(ack, "AK5", "AK9") == ["AK5*A", "AK5*R*4", "AK9*P*2*2*1"]
    assert [s.status for s in ack.groups[0].sets] == [AckStatus.ACCEPTED, AckStatus.REJECTED]
    assert "2 sets, 1 accepted, 1 rejected" in ack.summary
    assert "(set 0002: AK5 R 4 — SE01 says 30 but 7 segments" in ack.summary
    sound(ack)


def test_a_repeated_st02_is_rejected_with_code_23() -> None:
    ack = answer(purchase_orders(group(SetSpec("850", 1, po()), SetSpec("850", 1, po("PO-2")))))
    assert lines(ack, "AK2", "AK5") == ["AK2*850*0001", "AK5*A", "AK2*850*0001", "AK5*R*23"]
    assert ack.groups[0].code == "P" and ack.groups[0].status is AckStatus.ACCEPTED_WITH_ERRORS


def test_a_bad_beg05_date_gives_ak3_and_ak4_373_code_8() -> None:
    ack = answer(purchase_orders(group(SetSpec("850", 1, po(date="20261301")))))
    assert lines(ack, "AK3", "AK4", "AK5", "AK9") == [
        "AK3*BEG*2**8", "AK4*5*373*8*20261301", "AK5*R*5", "AK9*R*1*1*0",
    ]  # fmt: skip
    assert ack.status is AckStatus.REJECTED
    assert "invalid date" in ack.summary
    assert validate(ack.data.decode("latin-1")).clean


def test_a_bad_value_is_copied_into_ak404_cut_to_99_characters() -> None:
    body = po()
    body[1] = W.segment("N1", "ST", "X" * 150, "92", "0042")
    ack = answer(purchase_orders(group(SetSpec("850", 1, body))))
    [ak4] = lines(ack, "AK4")
    assert ak4 == "AK4*2*93*5*" + "X" * 99
    assert validate(ack.data.decode("latin-1")).clean


def test_each_group_gets_its_own_997_addressed_from_its_own_gs() -> None:
    data = purchase_orders(
        group(SetSpec("850", 1, po()), gs06=11, sender="EAST", receiver="SELLER-EAST"),
        group(SetSpec("850", 1, po("PO-9")), gs06=12, sender="WEST", receiver="SELLER-WEST"),
    )
    numbers = Numbers()
    ack = answer(data, numbers)
    tm = sound(ack)
    gs = [g.header for g in tm.interchanges[0].groups]
    assert [(h.get(2), h.get(3), h.get(6)) for h in gs] == [("SELLER-EAST", "EAST", "71"), ("SELLER-WEST", "WEST", "72")]
    assert lines(ack, "AK1", "IEA") == ["AK1*PO*11", "AK1*PO*12", "IEA*2*000000501"]
    assert numbers.handed == {"isa": [501], "gs": [71, 72], "st": [9001, 9002]}
    assert [g.control_number for g in ack.groups] == ["11", "12"]


def test_isa14_1_gets_a_ta1_right_after_the_isa() -> None:
    ack = answer(purchase_orders(group(SetSpec("850", 1, po())), ack_requested=True))
    assert ack.data[106:110] == b"TA1*"
    assert [s.tag for s in segments(ack)][:3] == ["ISA", "TA1", "GS"]
    assert lines(ack, "TA1") == ["TA1*000000123*260115*0930*A*000"]
    tm = sound(ack)
    assert not tm.interchanges[0].ack_requested  # nobody acknowledges an acknowledgment
    assert ack.ta1 and ack.ta1_code == "A" and ack.summary.startswith("TA1 A 000 for interchange 000000123; 997")


def test_an_interchange_without_groups_is_answered_by_a_ta1_alone() -> None:
    data = (isa() + "BEG*00*SA*PO-1**20260115~IEA*0*000000123~").encode()
    numbers = Numbers()
    ack = answer(data, numbers)
    assert [s.tag for s in segments(ack)] == ["ISA", "TA1", "IEA"]
    assert ack.ta1_code == "R" and ack.ta1_note == "024" and ack.groups == ()
    assert numbers.handed == {"isa": [501], "gs": [], "st": []}
    assert ack.status is AckStatus.REJECTED
    sound(ack)


def test_a_broken_iea_is_named_in_the_ta1_and_the_groups_are_still_answered() -> None:
    data = purchase_orders(group(SetSpec("850", 1, po()))).replace(b"IEA*1*", b"IEA*3*")
    ack = answer(data)
    assert lines(ack, "TA1", "AK9") == ["TA1*000000123*260115*0930*E*021", "AK9*A*1*1*1"]
    assert ack.status is AckStatus.ACCEPTED_WITH_ERRORS and "IEA01 says 3" in ack.summary


def test_control_numbers_come_from_the_callback_and_are_never_shared() -> None:
    numbers = Numbers()
    data = purchase_orders(group(SetSpec("850", 1, po())), group(SetSpec("850", 2, po()), gs06=8))
    first, second = answer(data, numbers), answer(data, numbers)
    seen: list[tuple[str, str]] = []
    for ack in (first, second):
        ic = read(ack.data).interchanges[0]
        isa13 = int(ic.control_number)
        gs06 = [int(g.control_number) for g in ic.groups]
        st02 = [ts.control_number for g in ic.groups for ts in g.sets]
        assert (isa13, tuple(gs06)) == (ack.control_numbers.interchange, ack.control_numbers.groups)
        assert st02 == [f"{n:04d}" for n in ack.control_numbers.sets]
        seen += [("isa", str(isa13))] + [("gs", str(n)) for n in gs06] + [("st", s) for s in st02]
    assert len(seen) == len(set(seen)) == 10
    assert numbers.handed == {"isa": [501, 502], "gs": [71, 72, 73, 74], "st": [9001, 9002, 9003, 9004]}


def test_numbers_that_cannot_be_control_numbers_are_refused() -> None:
    data = purchase_orders(group(SetSpec("850", 1, po())))
    with pytest.raises(ValidationError, match="numbers"):
        acknowledge(read(data).interchanges[0], [], None, interchange_index=0,
                    numbers=lambda kind, count: [0] * count, now=NOW)  # fmt: skip


@pytest.mark.parametrize("given, why", [([7, 7], "repeat"), ([1], "got 1"), ([True, 2], "not 1 to")])
def test_numbers_for_the_997s_are_checked_as_strictly_as_for_any_document_we_send(given: list[int], why: str) -> None:
    data = purchase_orders(group(SetSpec("850", 1, po())), group(SetSpec("850", 2, po()), gs06=8))
    with pytest.raises(ValidationError, match=why):
        acknowledge(read(data).interchanges[0], [], None, interchange_index=0,
                    numbers=lambda kind, count: given if kind == "gs" else [1], now=NOW)  # fmt: skip


def test_read_997_round_trips_our_own_statuses() -> None:
    data = purchase_orders(
        group(SetSpec("850", 1, po()), SetSpec("850", 2, po(date="20261301")), SetSpec("850", 2, po()), gs06=11),
        group(SetSpec("850", 5, po()), gs06=12),
    )
    ack = answer(data.replace(b"SE*7*0001~", b"SE*8*0001~"))
    tm = read(ack.data)
    back = [g for ts in tm.sets() for g in read_997(ts)]
    assert back == list(ack.groups)
    assert [[s.code for s in g.sets] for g in back] == [["R", "R", "R"], ["A"]]
    assert [s.codes for s in back[0].sets] == [("4",), ("5",), ("23",)]
    assert back[0].sets[1].notes[0].elements[0].bad_value == "20261301"
    assert back[0].status_of("0001") is AckStatus.REJECTED and back[1].status_of("0005") is AckStatus.ACCEPTED


def test_read_997_of_a_partner_ack_that_lists_no_sets() -> None:
    text = isa() + "GS*FA*S*R*20260115*0930*1*X*004010~ST*997*0001~AK1*PR*17~AK9*A*2*2*2~SE*4*0001~GE*1*1~IEA*1*000000123~"
    [g] = read_997(next(read(text.encode()).sets()))
    assert (g.functional_id, g.control_number, g.code, g.declared, g.sets) == ("PR", "17", "A", 2, ())
    assert g.status_of("0042") is AckStatus.ACCEPTED
    p = isa() + "GS*FA*S*R*20260115*0930*1*X*004010~ST*997*1~AK1*IN*3~AK2*810*0002~AK5*R*5~AK9*P*2*2*1~SE*6*1~GE*1*1~IEA*1*000000123~"
    [g] = read_997(next(read(p.encode()).sets()))
    assert g.status_of("0002") is AckStatus.REJECTED and g.status_of("0001") is AckStatus.ACCEPTED


@pytest.mark.parametrize(
    "body",
    ["AK2*850*0001~AK5*A~", "AK1*PO*1~AK2*850*0001~AK9*A*1*1*1~", "AK1*PO*1~AK2*850*0001~AK5*A~"],
    ids=["no AK1", "no AK5", "no AK9"],
)
def test_read_997_refuses_a_997_it_cannot_trust(body: str) -> None:
    n = body.count("~") + 2
    text = isa() + f"GS*FA*S*R*20260115*0930*1*X*004010~ST*997*0001~{body}SE*{n}*0001~GE*1*1~IEA*1*000000123~"
    with pytest.raises(MappingError):
        read_997(next(read(text.encode()).sets()))


def test_a_group_without_a_map_is_acknowledged_from_its_envelope() -> None:
    ack = answer(purchase_orders(group(SetSpec("850", 1, po()), version="003040"), version="00300"))
    assert lines(ack, "AK5", "AK9") == ["AK5*A", "AK9*A*1*1*1"]
    assert not ack.groups[0].validated and "envelope only" in ack.summary
    assert any("Map not found" in n for n in ack.notes) and "ISA12 '00300' answered with 00401" in ack.notes
    ic = sound(ack).interchanges[0]
    assert ic.version == "00401" and ic.groups[0].header.get(4) == "260201"  # YYMMDD before 004010
    no_report = answer(purchase_orders(group(SetSpec("850", 1, po()))), validated=False)
    assert "envelope alone" in " ".join(no_report.notes) and lines(no_report, "AK5") == ["AK5*A"]


def test_a_5010_group_gets_ak103_and_a_repetition_separator() -> None:
    ack = answer(purchase_orders(group(SetSpec("850", 1, po()), version="005010"), version="00501"))
    ic = sound(ack).interchanges[0]
    assert ic.version == "00501" and ic.header.get(11) == "^" and ic.delimiters.repetition == "^"
    assert lines(ack, "AK1") == ["AK1*PO*7*005010"]
    assert validate(ack.data.decode("latin-1")).clean


def test_delimiters_follow_the_caller_then_the_received_file() -> None:
    received = Writer(Delimiters("|", "^", "\n"))
    data = purchase_orders(group(SetSpec("850", 1, [received.segment("BEG", "00", "SA", "P1", "", "20260115")])),
                           writer=received)  # fmt: skip
    ack = answer(data, validated=False)
    assert ack.data[3:4] == b"|" and ack.data[104:106] == b"^\n"
    chosen = answer(data, validated=False, delimiters=Delimiters("+", ":", "'"))
    assert chosen.data[3:4] == b"+" and b"AK5+A'" in chosen.data
    sound(ack), sound(chosen)


def test_a_whitespace_terminator_is_not_copied() -> None:
    text = isa(term=" ") + "GS*PO*A*B*20260115*0930*7*X*004010 ST*850*0001 BEG*00*SA*P1**20260115 SE*3*0001 GE*1*7 IEA*1*000000123 "
    ack = answer(text.encode(), validated=False)
    assert ack.data[105:106] == b"~" and any("whitespace" in n for n in ack.notes)
    assert lines(ack, "AK5") == ["AK5*A"]


# ----------------------------------------------------------------------------------- corpus


def _answered(ack: Acknowledgment, groups: Sequence[Group]) -> dict[int, GroupAck]:
    """Received group index -> its 997 (groups without GS01 or GS06 are answered by the TA1)."""
    keys = [i for i, g in enumerate(groups) if g.functional_id.strip() and g.control_number.strip()]
    assert len(keys) == len(ack.groups)
    return dict(zip(keys, ack.groups, strict=True))


@pytest.mark.parametrize("name", FILES or ["(no corpus)"])
def test_every_corpus_interchange_is_answered_and_every_envelope_error_is_named(name: str) -> None:
    _need_corpus()
    data = (CORPUS / name).read_bytes()
    tm = read(data)
    findings = check(tm)
    text = data.decode("latin-1")
    for i, ic in enumerate(tm.interchanges):
        end = tm.interchanges[i + 1].offset if i + 1 < len(tm.interchanges) else len(text)
        ack = acknowledge(ic, findings, validate(text[ic.offset : end]), interchange_index=i,
                          numbers=Numbers(), now=NOW)  # fmt: skip
        sound(ack)
        assert ack.summary
        answered = _answered(ack, ic.groups)
        for f in errors(findings):
            if f.interchange != i:
                continue
            why = f"{name} interchange {i}: {f}"
            if f.ack is Ack.TA1:
                assert ack.ta1 and ack.ta1_code in ("E", "R"), why
                assert ack.ta1_note in {g.code for g in errors(findings) if g.interchange == i and g.code}, why
                continue
            g = answered.get(f.group) if f.group is not None else None
            if g is None:  # a group nobody can name: the TA1 says the interchange is faulty
                assert ack.ta1 and ack.ta1_code in ("E", "R"), why
            elif f.ack is Ack.AK9:
                assert g.code in ("R", "E", "P"), why
                assert f.code is None or (g.code == "R" and (f.code in g.codes or len(g.codes) == 5)), why
            elif f.ack is Ack.AK5:
                assert f.transaction_set is not None, why
                s = g.sets[f.transaction_set]
                assert s.code == "R" and (f.code in s.codes or len(s.codes) == 5), why
                assert g.code in ("R", "P"), why
