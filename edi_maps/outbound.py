"""Documents we send: one partner's envelope around built transaction sets, and the pieces the
builders share.

    partner = PartnerEnvelope("ZZ", "ACME", "08", "9254110000", version="004010VICS")
    data = wrap(partner, [build_856(shipment), build_810(invoice)], numbers, now)

`numbers(kind, count)` hands out `count` control numbers of kind "isa", "gs" or "st" (in the
store: `functools.partial(store.control.take_control_numbers, conn, partner_id)`); they never
come from the clock. Sets are grouped by functional group (GS01 from the set type: PR 855,
SH 856, IN 810, IB 846, FA 997), one GS per type in the order the types first appear.

The builders (`ack855`, `asn856`, `invoice810`, `stock846`) return an `OutboundSet` of plain
segments without composites; `wrap` refuses a value that holds any of the partner's
delimiters, so what `edi_maps.read` reads back is what was built. Everything a builder
writes is checked against the X12 extended character set and the element lengths of the
pyx12 maps first, raising `ValidationError` with a readable message instead of sending a
document the partner would reject.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from store.money import currency_exponent

from .errors import ValidationError
from .segments import Delimiters, Segment
from .writer import GroupSpec, IsaHeader, SetSpec, Writer

__all__ = [
    "FUNCTIONAL_IDS",
    "ControlNumbers",
    "ItemIds",
    "OutboundSet",
    "Party",
    "PartnerEnvelope",
    "take_numbers",
    "wrap",
    # building blocks for the builders
    "amount_n2",
    "check_code",
    "check_qty",
    "check_text",
    "date8",
    "decimal_text",
    "describe_item",
    "item_pairs",
    "minor_exponent",
    "party_segments",
    "price_text",
    "seg",
    "time4",
]

# GS01 for each transaction set we send (edi.md section 4).
FUNCTIONAL_IDS = {"855": "PR", "856": "SH", "810": "IN", "846": "IB", "997": "FA", "850": "PO", "860": "PC"}

ControlNumbers = Callable[[str, int], Sequence[int]]
ItemIds = tuple[tuple[str, str], ...]  # (qualifier, id) pairs: ("UP", "012345678905"), ("VP", "SKU-1")

_MAX_CONTROL = 999_999_999
# X12 extended character set as pyx12 checks it (4010; 5010 adds ^ and `, which are separators here).
_X12_CHARS = re.compile(r"""[A-Za-z0-9!"&'()*+,\-./:;?= %~@\[\]_{}\\|<>#$]*""")
_CODE = re.compile(r"[A-Z0-9]+")


@dataclass(frozen=True, slots=True)
class OutboundSet:
    """One built transaction set: ST01 and the body between ST and SE."""

    id: str
    body: tuple[Segment, ...]


@dataclass(frozen=True, slots=True)
class PartnerEnvelope:
    """How one partner wants its interchanges addressed and delimited.

    `version` is GS08 ("004010", "004010VICS", "005010"); ISA12 follows it (00401 for 004010*,
    00501 for 005010*) unless `isa_version` says otherwise. `newline` is written after every
    segment terminator: "" (none), "\\n" or "\\r\\n". `repetition` is ISA11 from 00403 on.
    GS02/GS03 default to the ISA ids.
    """

    our_qualifier: str
    our_id: str
    their_qualifier: str
    their_id: str
    our_gs_id: str = ""
    their_gs_id: str = ""
    version: str = "004010"
    usage: str = "P"
    element: str = "*"
    component: str = ">"
    terminator: str = "~"
    newline: str = ""
    repetition: str = "^"
    isa_version: str = ""
    ack_requested: bool = False

    def __post_init__(self) -> None:
        if self.usage not in ("P", "T"):
            raise ValidationError(f"ISA15 usage must be P or T, not {self.usage!r}")
        for name in ("our_qualifier", "their_qualifier"):
            value = getattr(self, name)
            if len(value) != 2 or not _CODE.fullmatch(value):
                raise ValidationError(f"{name} {value!r} is not a two-character ISA qualifier")
        for name in ("our_id", "their_id"):
            value = getattr(self, name)
            if not 1 <= len(value) <= 15 or value != value.strip():
                raise ValidationError(f"{name} {value!r} must be 1 to 15 characters, no outer spaces")
        for name, value in (("GS02", self.gs_sender), ("GS03", self.gs_receiver)):
            if not 2 <= len(value) <= 15 or value != value.strip():
                raise ValidationError(f"{name} {value!r} must be 2 to 15 characters, no outer spaces")
        if not (len(self.version) >= 6 and self.version[:6].isdigit() and self.version[:6] >= "004010"):
            raise ValidationError(f"GS08 {self.version!r} is not an X12 version from 004010 on")
        if len(self.version) > 12:
            raise ValidationError(f"GS08 {self.version!r} is longer than 12 characters")
        if len(self.icvn) != 5 or not self.icvn.isdigit():
            raise ValidationError(f"ISA12 {self.icvn!r} is not five digits")
        self.writer()  # the delimiters are checked there

    @property
    def gs_sender(self) -> str:
        return self.our_gs_id or self.our_id

    @property
    def gs_receiver(self) -> str:
        return self.their_gs_id or self.their_id

    @property
    def icvn(self) -> str:
        """ISA12."""
        if self.isa_version:
            return self.isa_version
        return "00501" if self.version[:6] >= "005010" else "00401"

    @property
    def delimiters(self) -> Delimiters:
        rep = self.repetition if self.repetition and int(self.icvn) >= 403 else None
        return Delimiters(self.element, self.component, self.terminator, rep)

    def writer(self) -> Writer:
        return Writer(self.delimiters, newline=self.newline)


def wrap(
    partner: PartnerEnvelope,
    sets: Sequence[OutboundSet],
    numbers: ControlNumbers,
    now: dt.datetime,
) -> bytes:
    """ISA, one GS per functional group, each set as ST..SE, GE and IEA, as file bytes."""
    if not sets:
        raise ValidationError("an interchange needs at least one transaction set")
    by_group: dict[str, list[OutboundSet]] = {}
    for s in sets:
        fid = FUNCTIONAL_IDS.get(s.id)
        if fid is None:
            raise ValidationError(f"no functional group is known for transaction set {s.id!r}")
        by_group.setdefault(fid, []).append(s)
    writer = partner.writer()
    forbidden = sorted(partner.delimiters.chars() | {"\r", "\n"})
    for s in sets:
        for segment in s.body:
            _refuse_delimiters(segment, forbidden)
    isa13 = take_numbers(numbers, "isa", 1)[0]
    gs06 = iter(take_numbers(numbers, "gs", len(by_group)))
    st02 = iter(take_numbers(numbers, "st", len(sets)))
    groups = [
        GroupSpec(
            fid, partner.gs_sender, partner.gs_receiver, next(gs06), now,
            [SetSpec(s.id, next(st02), s.body) for s in members], version=partner.version,
        )
        for fid, members in by_group.items()
    ]
    header = IsaHeader(
        partner.our_qualifier, partner.our_id, partner.their_qualifier, partner.their_id, isa13, now,
        version=partner.icvn, ack_requested=partner.ack_requested, usage=partner.usage,
    )
    return writer.write(writer.interchange(header, groups))


def take_numbers(numbers: ControlNumbers, kind: str, count: int) -> list[int]:
    """`count` control numbers of `kind` from the callback, checked: as many as asked, distinct,
    whole numbers 1 to 999999999; else `ValidationError` naming the call."""
    got = list(numbers(kind, count))
    asked = f"numbers({kind!r}, {count})"
    if len(got) != count:
        raise ValidationError(f"{asked}: asked for {count} {kind} control number(s), got {len(got)}")
    if len(set(got)) != count:
        raise ValidationError(f"{asked}: {kind} control numbers repeat: {got}")
    for n in got:
        if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= _MAX_CONTROL:
            raise ValidationError(f"{asked}: {kind} control number {n!r} is not 1 to {_MAX_CONTROL}")
    return got


def _refuse_delimiters(segment: Segment, forbidden: Iterable[str]) -> None:
    for n, value in enumerate(segment.elements, start=1):
        for c in forbidden:
            if c in value:
                raise ValidationError(f"{segment.tag}{n:02d} {value!r} holds {c!r}, one of the partner's delimiters")


# --------------------------------------------------------------------------- building blocks


@dataclass(frozen=True, slots=True)
class Party:
    """An N1 loop: N101 entity code (ST, SF, RE, BT, SU ...), name, optional id, address."""

    code: str
    name: str
    id_qualifier: str = ""
    id: str = ""
    address1: str = ""
    address2: str = ""
    city: str = ""
    region: str = ""
    postal_code: str = ""
    country: str = ""
    extra: tuple[tuple[str, str], ...] = ()  # REF qualifier/value pairs in the loop


def seg(tag: str, *elements: str) -> Segment:
    """A segment with trailing empty elements dropped (X12 forbids trailing separators)."""
    values = list(elements)
    while values and values[-1] == "":
        values.pop()
    return Segment(tag, tuple(values))


def check_text(value: str, what: str, lo: int = 1, hi: int = 30, *, required: bool = True) -> str:
    """`value` if it can be written as an X12 AN/ID element of `lo`..`hi` characters."""
    if value == "":
        if required:
            raise ValidationError(f"{what} is missing")
        return value
    if not lo <= len(value) <= hi:
        raise ValidationError(f"{what} {value!r} must be {lo} to {hi} characters")
    if not _X12_CHARS.fullmatch(value):
        bad = next(c for c in value if not _X12_CHARS.fullmatch(c))
        raise ValidationError(f"{what} {value!r} holds {bad!r}, outside the X12 character set")
    if value[-1] == " " or value[0] == " ":
        raise ValidationError(f"{what} {value!r} starts or ends with a space")
    return value


def check_code(value: str, what: str, lo: int = 2, hi: int = 2) -> str:
    """A code value (ID type): capitals and digits, `lo`..`hi` long."""
    if not (lo <= len(value) <= hi and _CODE.fullmatch(value)):
        raise ValidationError(f"{what} {value!r} must be a code of {lo} to {hi} capitals and digits")
    return value


def check_qty(value: int, what: str, *, allow_zero: bool = False, digits: int = 10) -> str:
    """An integer quantity as an X12 R value; negative (and zero unless allowed) is refused."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(f"{what} {value!r} is not a whole number")
    if value < 0 or (value == 0 and not allow_zero):
        raise ValidationError(f"{what} must be {'zero or more' if allow_zero else 'positive'}, got {value}")
    text = str(value)
    if len(text) > digits:
        raise ValidationError(f"{what} {value} has more than {digits} digits")
    return text


def minor_exponent(currency: str) -> int:
    """Decimal places of a currency's minor unit (2 unless ISO 4217 says otherwise)."""
    if len(currency) != 3 or not currency.isalpha() or not currency.isupper():
        raise ValidationError(f"currency {currency!r} is not a three-letter ISO 4217 code")
    return currency_exponent(currency)


def decimal_text(value: Decimal, what: str, digits: int = 10) -> str:
    """A non-negative Decimal as an X12 R value: explicit point, no exponent, no trailing zeros."""
    if not value.is_finite() or value < 0:
        raise ValidationError(f"{what} must be zero or more, got {value}")
    text = format(value.normalize(), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    if len(text.replace(".", "")) > digits:
        raise ValidationError(f"{what} {text} has more than {digits} digits")
    return text


def price_text(minor: int, currency: str, what: str, digits: int = 17) -> str:
    """Integer minor units as an explicit decimal in the currency's unit (R type)."""
    if isinstance(minor, bool) or not isinstance(minor, int):
        raise ValidationError(f"{what} {minor!r} is not whole minor units")
    if minor < 0:
        raise ValidationError(f"{what} must be zero or more, got {minor}")
    return decimal_text(Decimal(minor).scaleb(-minor_exponent(currency)), what, digits)


def amount_n2(minor: int, currency: str, what: str, digits: int = 15) -> str:
    """Integer minor units as an N2 value (implied two decimals, no point): 1234.56 -> "123456"."""
    if isinstance(minor, bool) or not isinstance(minor, int):
        raise ValidationError(f"{what} {minor!r} is not whole minor units")
    exponent = minor_exponent(currency)
    if exponent <= 2:
        hundredths = minor * 10 ** (2 - exponent)
    elif minor % 10 ** (exponent - 2):
        raise ValidationError(f"{what} {minor} {currency} cannot be written with two implied decimals")
    else:
        hundredths = minor // 10 ** (exponent - 2)
    if hundredths < 0:
        raise ValidationError(f"{what} must be zero or more, got {minor} {currency}")
    text = str(hundredths)
    if len(text) > digits:
        raise ValidationError(f"{what} {text} has more than {digits} digits")
    return text


def date8(value: dt.date) -> str:
    """CCYYMMDD."""
    return value.strftime("%Y%m%d")


def time4(value: dt.time | dt.datetime) -> str:
    """HHMM."""
    return value.strftime("%H%M")


def describe_item(ids: ItemIds) -> str:
    """An item for an error message: its first qualifier and id."""
    return f"item {ids[0][0]} {ids[0][1]!r}" if ids else "item without ids"


def item_pairs(ids: ItemIds, what: str, *, most: int, required: bool = True) -> list[str]:
    """Qualifier/id pairs as flat element values, checked (qualifier 2 characters, id 1-48)."""
    if required and not ids:
        raise ValidationError(f"{what} names no item (give at least one qualifier/id pair)")
    if len(ids) > most:
        raise ValidationError(f"{what} has {len(ids)} item ids, at most {most} fit")
    out: list[str] = []
    for qualifier, value in ids:
        out.append(check_code(qualifier, f"{what} id qualifier", 2, 2))
        out.append(check_text(value, f"{what} {qualifier} id", 1, 48))
    return out


def party_segments(party: Party) -> list[Segment]:
    """N1 (plus N3, N4 and REF when there is something to say)."""
    what = f"N1 {party.code}"
    code = check_code(party.code, "N101 entity code", 2, 3)
    if bool(party.id_qualifier) != bool(party.id):
        raise ValidationError(f"{what}: an id needs its qualifier and a qualifier its id")
    out = [
        seg(
            "N1", code, check_text(party.name, f"{what} name", 1, 60),
            check_code(party.id_qualifier, f"{what} id qualifier", 1, 2) if party.id_qualifier else "",
            check_text(party.id, f"{what} id", 2, 80, required=False),
        )
    ]
    if party.address2 and not party.address1:
        raise ValidationError(f"{what}: address line 2 without line 1")
    if party.address1:
        out.append(seg(
            "N3", check_text(party.address1, f"{what} address", 1, 55),
            check_text(party.address2, f"{what} address line 2", 1, 55, required=False),
        ))
    if party.city or party.region or party.postal_code or party.country:
        out.append(seg(
            "N4", check_text(party.city, f"{what} city", 2, 30, required=False),
            check_code(party.region, f"{what} state", 2, 2) if party.region else "",
            check_text(party.postal_code, f"{what} postal code", 3, 15, required=False),
            check_code(party.country, f"{what} country", 2, 3) if party.country else "",
        ))
    for qualifier, value in party.extra:
        out.append(seg("REF", check_code(qualifier, f"{what} REF qualifier", 2, 3),
                       check_text(value, f"{what} REF {qualifier}", 1, 30)))
    return out

