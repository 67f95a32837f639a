"""Outbound envelopes: partner settings, control numbers from the callback, and the three
properties every document we send must have (reads back, sound envelope, pyx12-clean).

The helpers at the top are shared by the other test_out_* modules.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import pytest

from edi_maps import Segment, Transmission, ValidationError, check, errors, read
from edi_maps.ack855 import AckLine, OrderAck, build_855
from edi_maps.outbound import OutboundSet, PartnerEnvelope, wrap
from edi_maps.pyx12_validate import validate_outbound
from edi_maps.stock846 import StockItem, StockSnapshot, build_846

NOW = dt.datetime(2026, 1, 16, 9, 30, tzinfo=dt.UTC)
PARTNER = PartnerEnvelope("ZZ", "ACMESUPPLY", "08", "9254110000", our_gs_id="ACMESUPPLY", their_gs_id="BIGRETAIL",
                          version="004010VICS", newline="\n")


class Numbers:
    """A per-kind counter like store.control.take_control_numbers, recording every call."""

    def __init__(self, start: int = 1) -> None:
        self.next = {"isa": start, "gs": start, "st": start}
        self.calls: list[tuple[str, int]] = []

    def __call__(self, kind: str, count: int) -> list[int]:
        self.calls.append((kind, count))
        first = self.next[kind]
        self.next[kind] = first + count
        return list(range(first, first + count))


def sound(data: bytes) -> Transmission:
    """Assert the three properties and return what was read."""
    tm = read(data)
    assert errors(check(tm)) == [], check(tm)
    assert tm.problems == [] and len(tm.interchanges) == 1
    ok, lines = validate_outbound(data.decode("latin-1"))
    assert ok, lines
    return tm


def emit(sets: Sequence[OutboundSet], partner: PartnerEnvelope = PARTNER, numbers: Numbers | None = None) -> Transmission:
    """Wrap, check the three properties, and check each set's body reads back unchanged."""
    tm = sound(wrap(partner, sets, numbers or Numbers(), NOW))
    read_back = list(tm.sets())
    assert sorted(ts.id for ts in read_back) == sorted(s.id for s in sets)
    by_id: dict[str, list[list[Segment]]] = {}
    for ts in read_back:
        by_id.setdefault(ts.id, []).append(ts.segments)
    for s in sets:
        assert list(s.body) in by_id[s.id]
    return tm


def _ack(po: str = "PO-1") -> OutboundSet:
    return build_855(OrderAck(po, dt.date(2026, 1, 15), "AD", (AckLine("1", 2, "EA", (("VP", "SKU-1"),)),)))


def _stock() -> OutboundSet:
    return build_846(StockSnapshot("S-1", dt.date(2026, 1, 16), (StockItem((("VP", "SKU-1"),), 3),)))


# ------------------------------------------------------------------------------- envelope


def test_interchange_is_addressed_and_dated_as_the_partner_wants() -> None:
    numbers = Numbers(start=41)
    tm = emit([_ack()], numbers=numbers)
    [ic] = tm.interchanges
    assert (ic.sender_qualifier, ic.sender_id, ic.receiver_qualifier, ic.receiver_id) == (
        "ZZ", "ACMESUPPLY", "08", "9254110000")
    assert ic.version == "00401" and ic.usage == "P" and ic.control_number == "000000041"
    assert ic.header.get(9) == "260116" and ic.header.get(10) == "0930"
    [group] = ic.groups
    assert group.header.elements == ("PR", "ACMESUPPLY", "BIGRETAIL", "20260116", "0930", "41", "X", "004010VICS")
    assert [ts.control_number for ts in group.sets] == ["0041"]


def test_gs01_follows_the_set_type_and_sets_of_one_type_share_a_group() -> None:
    tm = emit([_ack("PO-1"), _stock(), _ack("PO-2")])
    groups = tm.interchanges[0].groups
    assert [(g.functional_id, [ts.id for ts in g.sets]) for g in groups] == [
        ("PR", ["855", "855"]), ("IB", ["846"])]
    assert groups[0].trailer is not None and groups[0].trailer.elements == ("2", groups[0].control_number)


def test_control_numbers_come_from_the_callback_and_never_repeat_across_documents() -> None:
    numbers = Numbers()
    first = emit([_ack("PO-1"), _stock()], numbers=numbers)
    second = emit([_ack("PO-2"), _ack("PO-3")], numbers=numbers)
    assert numbers.calls == [("isa", 1), ("gs", 2), ("st", 2), ("isa", 1), ("gs", 1), ("st", 2)]
    isa = [tm.interchanges[0].control_number for tm in (first, second)]
    gs = [g.control_number for tm in (first, second) for g in tm.interchanges[0].groups]
    st = [ts.control_number for tm in (first, second) for ts in tm.sets()]
    assert isa == ["000000001", "000000002"] and gs == ["1", "2", "3"] and st == ["0001", "0002", "0003", "0004"]
    # the clock plays no part: the same numbers at another time give the same control numbers
    later = wrap(PARTNER, [_ack("PO-1"), _stock()], Numbers(), NOW + dt.timedelta(hours=5))
    assert [g.control_number for g in read(later).interchanges[0].groups] == ["1", "2"]


@pytest.mark.parametrize(
    "answer, why",
    [([], "got 0"), ([7, 7], "repeat"), ([0], "not 1 to"), ([1_000_000_000], "not 1 to")],
)
def test_bad_control_numbers_from_the_callback_are_refused(answer: list[int], why: str) -> None:
    def numbers(kind: str, count: int) -> list[int]:
        return answer if kind == "st" else list(range(1, count + 1))

    with pytest.raises(ValidationError, match=why):
        wrap(PARTNER, [_ack("PO-1"), _ack("PO-2")] if len(answer) == 2 else [_ack()], numbers, NOW)


@pytest.mark.parametrize(
    "partner",
    [
        PartnerEnvelope("01", "123456789", "ZZ", "SHOP", version="005010", element="|", component="^",
                        terminator="\n", repetition="{", usage="T"),
        PartnerEnvelope("ZZ", "ACME", "12", "5555551234", version="004010", element="*", component=":",
                        terminator="~", newline="\r\n"),
        PartnerEnvelope("ZZ", "ACME", "ZZ", "SHOP", version="005010VICS", newline="\n"),
    ],
    ids=["5010-pipe-lf", "4010-crlf", "5010vics"],
)
def test_partner_delimiters_and_versions_give_sound_documents(partner: PartnerEnvelope) -> None:
    tm = emit([_ack(), _stock()], partner=partner)
    ic = tm.interchanges[0]
    assert ic.delimiters.element == partner.element and ic.delimiters.segment == partner.terminator
    assert ic.version == ("00501" if partner.version.startswith("005") else "00401")
    assert ic.usage == partner.usage
    if ic.version == "00501":
        assert ic.header.get(11) == partner.repetition and ic.delimiters.repetition == partner.repetition


def test_a_value_holding_a_partner_delimiter_is_refused() -> None:
    pipe = PartnerEnvelope("ZZ", "ACME", "ZZ", "SHOP", element="|")
    doc = build_846(StockSnapshot("S|1", dt.date(2026, 1, 16), (StockItem((("VP", "SKU-1"),), 3),)))
    with pytest.raises(ValidationError, match="delimiters"):
        wrap(pipe, [doc], Numbers(), NOW)
    with pytest.raises(ValidationError, match="delimiters"):
        wrap(PartnerEnvelope("ZZ", "ACME", "ZZ", "SHOP", component="-"), [_ack("PO-1")], Numbers(), NOW)


@pytest.mark.parametrize(
    "kwargs, why",
    [
        ({"usage": "X"}, "usage"),
        ({"our_qualifier": "Z"}, "qualifier"),
        ({"their_id": "X" * 16}, "1 to 15"),
        ({"their_gs_id": "X"}, "GS03"),
        ({"version": "003060"}, "GS08"),
        ({"element": "*", "component": "*"}, "distinct"),
        ({"newline": "\n", "terminator": "\n"}, "line break"),
    ],
)
def test_impossible_partner_settings_are_refused(kwargs: dict[str, str], why: str) -> None:
    base = {"our_qualifier": "ZZ", "our_id": "ACME", "their_qualifier": "ZZ", "their_id": "SHOP"}
    with pytest.raises(ValidationError, match=why):
        PartnerEnvelope(**(base | kwargs))  # type: ignore[arg-type]


def test_unknown_set_types_and_empty_interchanges_are_refused() -> None:
    with pytest.raises(ValidationError, match="at least one"):
        wrap(PARTNER, [], Numbers(), NOW)
    with pytest.raises(ValidationError, match="832"):
        wrap(PARTNER, [OutboundSet("832", ())], Numbers(), NOW)
