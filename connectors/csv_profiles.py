"""CSV files to canonical orders, one profile per kind of file a drop folder receives.

- ``generic``: one row per order line; columns named by a map {our field: their header}
  (defaults: our field names, see `GENERIC_COLUMNS`). Rows of one order share its order id
  and need not be adjacent. Delimiter "," unless configured; "auto" sniffs it from the header.
- ``shopify``: the Shopify admin order export (Orders > Export). One row per line item,
  `Name` ("#1001") on every row, the order's own columns (Currency, Created at, Shipping ...)
  on its first row only. `Lineitem price` is the unit price.
- ``amazon``: the seller-fulfilled Order Report, a tab-separated flat file. One row per order
  item; `item-price` is the total for the quantity, so the unit price is item-price / quantity.
  A row repeating an `order-item-id` continues that item (Amazon splits long rows) and adds
  no line.

Bytes are UTF-8 (with or without BOM), UTF-16 with a BOM, else Windows-1252 (what Excel on
Windows writes), else latin-1, which decodes anything. Line numbers are the physical line a
record starts on; the header is line 1. A bad row rejects its whole order: every row of that
order is listed with the reason, and the other orders still go in. A file without the
columns a profile needs is rejected at line 1.

`errors_csv` writes rejected rows back out for the operator; every cell that a spreadsheet
would run as a formula is defused with a leading single quote.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

from store.canonical import Address, CanonicalLine, CanonicalOrder
from store.errors import OrderInvalid
from store.models.catalog import ALIAS_KINDS
from store.money import currency_exponent

from .errors import ConnectorError

__all__ = [
    "PROFILES",
    "GENERIC_COLUMNS",
    "CsvProfile",
    "CsvProfileError",
    "ParsedCsv",
    "RowReject",
    "SourceRow",
    "as_profile",
    "decode",
    "errors_csv",
    "formula_safe",
    "parse",
]

PROFILES = ("generic", "shopify", "amazon")

_ORDER_FIELDS = (
    "order_id", "currency", "placed_at", "updated_at", "buyer_name", "buyer_ref",
    "ship_name", "ship_address1", "ship_address2", "ship_city", "ship_region",
    "ship_postal_code", "ship_country",
)
_LINE_FIELDS = ("sku", "qty", "unit_price", "description", "line_ref")

# Our field -> their header; a configured map overrides some of these.
GENERIC_COLUMNS: Mapping[str, str] = MappingProxyType({f: f for f in _ORDER_FIELDS + _LINE_FIELDS})

_SHOPIFY: dict[str, tuple[str, ...]] = {
    "order_id": ("Name",),
    "sku": ("Lineitem sku",),
    "qty": ("Lineitem quantity",),
    "unit_price": ("Lineitem price",),
    "description": ("Lineitem name",),
    "currency": ("Currency",),
    "placed_at": ("Created at",),
    "buyer_name": ("Billing Name",),
    "ship_name": ("Shipping Name",),
    "ship_address1": ("Shipping Address1",),
    "ship_address2": ("Shipping Address2",),
    "ship_city": ("Shipping City",),
    "ship_region": ("Shipping Province Code", "Shipping Province"),
    "ship_postal_code": ("Shipping Zip",),
    "ship_country": ("Shipping Country Code", "Shipping Country"),
    "cancelled_at": ("Cancelled at",),
}

_AMAZON: dict[str, tuple[str, ...]] = {
    "order_id": ("order-id",),
    "line_ref": ("order-item-id",),
    "sku": ("sku",),
    "qty": ("quantity-purchased",),
    "line_total": ("item-price",),
    "description": ("product-name",),
    "currency": ("currency",),
    "placed_at": ("purchase-date",),
    "buyer_name": ("buyer-name",),
    "ship_name": ("recipient-name",),
    "ship_address1": ("ship-address-1",),
    "ship_address2": ("ship-address-2", "ship-address-3"),
    "ship_city": ("ship-city",),
    "ship_region": ("ship-state",),
    "ship_postal_code": ("ship-postal-code",),
    "ship_country": ("ship-country",),
}

_REQUIRED = {
    "generic": ("order_id", "sku", "qty", "unit_price"),
    "shopify": ("order_id", "sku", "qty", "unit_price"),
    "amazon": ("order_id", "sku", "qty", "line_total"),
}
# Fields whose present columns are joined (", ") rather than the first non-empty one taken.
_JOINED = {"amazon": frozenset({"ship_address2"})}
_DEFAULT_DELIMITER = {"generic": ",", "shopify": ",", "amazon": "\t"}
_SNIFFED = ",;\t|"

_LABEL = {
    "order_id": "order id", "qty": "quantity", "unit_price": "unit price", "line_total": "item price",
    "placed_at": "order date", "updated_at": "updated date", "ship_name": "ship-to name",
    "ship_address1": "ship-to address line 1", "ship_address2": "ship-to address line 2",
    "ship_city": "ship-to city", "ship_region": "ship-to region", "ship_postal_code": "ship-to postal code",
    "ship_country": "ship-to country", "buyer_name": "buyer name", "buyer_ref": "buyer reference",
    "line_ref": "line id",
}
# What the store's columns hold; longer values are refused here rather than by the database.
_MAX_LEN = {
    "order_id": 128, "sku": 128, "line_ref": 64, "buyer_name": 200, "buyer_ref": 128, "ship_name": 200,
    "ship_address1": 200, "ship_address2": 200, "ship_city": 100, "ship_region": 64, "ship_postal_code": 32,
}
_MAX_QTY = 1_000_000
_MAX_MINOR = 10**12
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class CsvProfileError(ConnectorError):
    """A profile is configured wrongly (unknown name, unknown field, bad delimiter)."""


def _label(name: str) -> str:
    return _LABEL.get(name, name.replace("_", " "))


@dataclass(frozen=True)
class CsvProfile:
    """How one drop folder's files are read.

    `columns` (generic only) maps our field to their header, e.g. {"qty": "Quantity"}; fields
    not named keep their default header. `delimiter` is one character, "tab", or "auto"
    (generic only: sniffed from the header line). `currency` is used when the file has no
    currency column or leaves it empty. `item_kind` says what the sku column holds (sku,
    buyer_part, vendor_part, upc, gtin, channel_item_id).
    """

    name: str = "generic"
    columns: Mapping[str, str] = field(default_factory=dict)
    delimiter: str | None = None
    currency: str | None = None
    item_kind: str = "sku"

    def __post_init__(self) -> None:
        if self.name not in PROFILES:
            raise CsvProfileError(f"unknown CSV profile {self.name!r}; use one of {', '.join(PROFILES)}")
        columns = dict(self.columns)
        if columns and self.name != "generic":
            raise CsvProfileError(f"a column map is for the generic profile only, not {self.name!r}")
        unknown = sorted(set(columns) - set(GENERIC_COLUMNS))
        if unknown:
            raise CsvProfileError(f"unknown field(s) {', '.join(unknown)}; known: {', '.join(GENERIC_COLUMNS)}")
        for ours, theirs in columns.items():
            if not isinstance(theirs, str) or not theirs.strip():
                raise CsvProfileError(f"column for {ours!r} must be a non-empty header name")
        object.__setattr__(self, "columns", MappingProxyType(columns))
        delimiter = self.delimiter
        if delimiter is not None:
            if delimiter.lower() == "tab":
                delimiter = "\t"
            if delimiter == "auto" and self.name != "generic":
                raise CsvProfileError(f"delimiter 'auto' is for the generic profile only, not {self.name!r}")
            if delimiter != "auto" and (len(delimiter) != 1 or delimiter in "\"'\r\n" or delimiter.isalnum()):
                raise CsvProfileError(f"delimiter {self.delimiter!r} must be one character such as , ; | or tab, or 'auto'")
            object.__setattr__(self, "delimiter", delimiter)
        if self.currency is not None:
            if not re.fullmatch(r"[A-Za-z]{3}", self.currency):
                raise CsvProfileError(f"currency {self.currency!r} is not an ISO 4217 code")
            object.__setattr__(self, "currency", self.currency.upper())
        if self.item_kind not in ALIAS_KINDS:
            raise CsvProfileError(f"item_kind {self.item_kind!r} is not one of {', '.join(ALIAS_KINDS)}")

    def column_spec(self) -> dict[str, tuple[str, ...]]:
        """Our field -> the headers that may hold it, in order of preference."""
        if self.name == "shopify":
            return dict(_SHOPIFY)
        if self.name == "amazon":
            return dict(_AMAZON)
        return {f: (self.columns.get(f, default),) for f, default in GENERIC_COLUMNS.items()}

    def required(self) -> tuple[str, ...]:
        """Fields whose column must be in the header: the profile's own, any the admin named,
        and the currency when no default is configured."""
        need = list(_REQUIRED[self.name]) + [f for f in self.columns if f not in _REQUIRED[self.name]]
        if self.currency is None and "currency" not in need:
            need.append("currency")
        return tuple(need)


def as_profile(profile: CsvProfile | str, *, columns: Mapping[str, str] | None = None) -> CsvProfile:
    """A profile from its name (plus a generic column map), or the profile itself."""
    if isinstance(profile, CsvProfile):
        if columns:
            raise CsvProfileError("give the column map inside the CsvProfile, not beside it")
        return profile
    return CsvProfile(profile, columns=dict(columns or {}))


@dataclass(frozen=True, slots=True)
class SourceRow:
    line_no: int
    cells: list[str]


@dataclass(frozen=True, slots=True)
class RowReject:
    """A row not taken. `reason` has no "line N:" prefix; `message` does."""

    line_no: int
    reason: str
    row: list[str]

    @property
    def message(self) -> str:
        return f"line {self.line_no}: {self.reason}"


@dataclass
class ParsedCsv:
    orders: list[CanonicalOrder] = field(default_factory=list)
    rejects: list[RowReject] = field(default_factory=list)
    # External id -> the rows the order was read from (ids are unique within one file).
    sources: dict[str, tuple[SourceRow, ...]] = field(default_factory=dict)
    header: list[str] = field(default_factory=list)
    rows: dict[int, list[str]] = field(default_factory=dict)  # every record read, by line
    encoding: str = "utf-8"
    delimiter: str = ","

    def lines_of(self, order: CanonicalOrder) -> tuple[int, ...]:
        return tuple(r.line_no for r in self.sources.get(order.external_id, ()))


def decode(data: bytes) -> tuple[str, str]:
    """The text and the encoding it was read with."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16"), "utf-16"
        except UnicodeDecodeError:
            pass
    if data.startswith(codecs.BOM_UTF8):
        try:
            return data[3:].decode("utf-8"), "utf-8-sig"
        except UnicodeDecodeError:
            data = data[3:]
    for encoding in ("utf-8", "cp1252"):
        try:
            return data.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1"), "latin-1"


def formula_safe(cell: str) -> str:
    """A cell a spreadsheet will show as text, never run (CSV injection)."""
    return "'" + cell if cell.startswith(_FORMULA_START) else cell


def errors_csv(header: Sequence[str], rejects: Iterable[RowReject]) -> bytes:
    """The operator's copy of what was not taken: line, reason, then the row as it came.
    UTF-8 with a BOM so that spreadsheets pick the encoding."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([formula_safe(c) for c in ["line", "reason", *header]])
    for r in rejects:
        writer.writerow([formula_safe(c) for c in [str(r.line_no), r.reason, *r.row]])
    return codecs.BOM_UTF8 + out.getvalue().encode("utf-8")


# --- reading records -------------------------------------------------------------------

_CSV_ERRORS = {
    "unexpected end of data": "a quoted cell is never closed",
    "',' expected after '\"'": "text after a closing quote",
}


def _sniff(text: str) -> str:
    """The candidate delimiter seen most often in the first line; "," if none is."""
    first = text.split("\n", 1)[0]
    counts = {d: first.count(d) for d in _SNIFFED}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _records(physical: list[str], delimiter: str, quoted: bool) -> Iterator[tuple[int, list[str] | None, str]]:
    """(first line, cells, "") per record, or (first line, None, why) for one csv cannot read."""
    if quoted:
        reader = csv.reader(iter(physical), delimiter=delimiter, strict=True)
    else:
        reader = csv.reader(iter(physical), delimiter=delimiter, quoting=csv.QUOTE_NONE)
    while True:
        start = reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            why = str(exc)
            yield start, None, _CSV_ERRORS.get(why.replace(f"'{delimiter}'", "','"), why)
            continue
        yield start, cells, ""


def _norm(header: str) -> str:
    return header.strip().lstrip("\ufeff").strip().casefold()


# --- values ------------------------------------------------------------------------------


class _Bad(Exception):
    """A value that cannot be taken; the message is the operator's reason."""


def _qty(text: str) -> int:
    if not text:
        raise _Bad("no quantity")
    if not re.fullmatch(r"\d+", text):
        if re.fullmatch(r"-\d+", text):
            raise _Bad(f"quantity {text!r} is negative")
        raise _Bad(f"quantity {text!r} is not a whole number")
    qty = int(text)
    if qty < 1:
        raise _Bad(f"quantity {qty} must be at least 1")
    if qty > _MAX_QTY:
        raise _Bad(f"quantity {qty} is more than {_MAX_QTY:,}")
    return qty


def _minor(text: str, currency: str, what: str) -> int:
    """A decimal amount in the currency's minor units."""
    if not text:
        raise _Bad(f"no {what}")
    m = re.fullmatch(r"(-?)(\d*)(?:\.(\d*))?", text)
    if m is None or not (m.group(2) or m.group(3)):
        raise _Bad(f"{what} {text!r} is not a decimal amount (like 12.50)")
    if m.group(1):
        raise _Bad(f"{what} {text!r} is negative")
    exp = currency_exponent(currency)
    frac = (m.group(3) or "").rstrip("0")
    if len(frac) > exp:
        places = f"{exp} decimal place{'s' if exp != 1 else ''}" if exp else "no decimals"
        raise _Bad(f"{what} {text!r} has more decimals than {currency} allows ({places})")
    value = int(m.group(2) or "0") * 10**exp + int(frac.ljust(exp, "0") or "0")
    if value > _MAX_MINOR:
        raise _Bad(f"{what} {text!r} is too large")
    return value


def _per_unit(total: int, qty: int) -> int:
    """Unit price from a line total, rounded half to even when it does not divide."""
    q, r = divmod(total, qty)
    return q + 1 if 2 * r > qty or (2 * r == qty and q % 2) else q


def _when(text: str, what: str) -> dt.datetime:
    """ISO 8601 or Shopify's "2026-11-01 10:00:00 -0500"; a time without a zone is UTC."""
    value: dt.datetime | None = None
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        for fmt in ("%Y-%m-%d %H:%M:%S %z", "%Y-%m-%d %H:%M %z"):
            try:
                value = dt.datetime.strptime(text, fmt)
                break
            except ValueError:
                continue
    if value is None:
        raise _Bad(f"{what} {text!r} is not a date and time (use ISO 8601, like 2026-11-01T10:00:00Z)")
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.timezone.utc)


def _currency(text: str) -> str:
    if not re.fullmatch(r"[A-Za-z]{3}", text):
        raise _Bad(f"currency {text!r} is not an ISO 4217 code")
    return text.upper()


def _country(text: str) -> str:
    if not re.fullmatch(r"[A-Za-z]{2}", text):
        raise _Bad(f"ship-to country {text!r} is not a two-letter ISO code (like US)")
    return text.upper()


# --- building orders -----------------------------------------------------------------------


@dataclass
class _Row:
    line_no: int
    cells: list[str]
    problems: list[str] = field(default_factory=list)


class _Reader:
    def __init__(self, profile: CsvProfile, header: list[str]) -> None:
        self.profile = profile
        self.joined = _JOINED.get(profile.name, frozenset())
        index: dict[str, int] = {}
        for i, name in enumerate(header):
            index.setdefault(_norm(name), i)
        spec = profile.column_spec()
        self.cols: dict[str, list[int]] = {}
        for f, headers in spec.items():
            present = [index[_norm(h)] for h in headers if _norm(h) in index]
            if present:
                self.cols[f] = present
        self.missing = [
            f"'{spec[f][0]}'" if spec[f][0] == f or profile.name != "generic" else f"'{spec[f][0]}' ({f})"
            for f in profile.required()
            if f not in self.cols
        ]
        self.width = len(header)

    def get(self, row: _Row, f: str) -> str:
        values = [row.cells[i].strip() for i in self.cols.get(f, ()) if i < len(row.cells)]
        values = [v for v in values if v]
        if f in self.joined:
            return ", ".join(values)
        return values[0] if values else ""

    def first(self, rows: Sequence[_Row], f: str) -> tuple[str, _Row]:
        """The first non-empty value of an order-level field, and the row it came from."""
        for row in rows:
            value = self.get(row, f)
            if value:
                return value, row
        return "", rows[0]


def _text(reader: _Reader, rows: Sequence[_Row], f: str) -> str | None:
    value, row = reader.first(rows, f)
    if f == "ship_postal_code":
        value = value.lstrip("'")  # Shopify writes zips as '02134 so spreadsheets keep the zero
    if not value:
        return None
    limit = _MAX_LEN.get(f)
    if limit is not None and len(value) > limit:
        row.problems.append(f"{_label(f)} is longer than {limit} characters")
        return None
    return value


def _build(reader: _Reader, key: str, rows: list[_Row], channel: str) -> CanonicalOrder | None:
    """The order the rows describe, or None with each bad row's problems noted on it."""
    profile = reader.profile
    currency = profile.currency or ""
    first_currency, first_row = reader.first(rows, "currency")
    if first_currency:
        try:
            currency = _currency(first_currency)
        except _Bad as exc:
            first_row.problems.append(str(exc))
            currency = ""
        for row in rows:
            other = reader.get(row, "currency")
            if other and other.upper() != first_currency.upper():
                row.problems.append(f"currency {other!r} differs from {first_currency!r} on line {first_row.line_no}")
    elif not currency:
        first_row.problems.append("no currency")

    cancelled, cancelled_row = reader.first(rows, "cancelled_at")
    if cancelled:
        cancelled_row.problems.append(f"the order was cancelled in Shopify ({cancelled}); not taken")

    if len(key) > _MAX_LEN["order_id"]:
        rows[0].problems.append(f"order id is longer than {_MAX_LEN['order_id']} characters")

    stamps: dict[str, dt.datetime | None] = {}
    for f in ("placed_at", "updated_at"):
        value, row = reader.first(rows, f)
        stamps[f] = None
        if value:
            try:
                stamps[f] = _when(value, _label(f))
            except _Bad as exc:
                row.problems.append(str(exc))

    country: str | None = None
    value, row = reader.first(rows, "ship_country")
    if value:
        try:
            country = _country(value)
        except _Bad as exc:
            row.problems.append(str(exc))
    texts = {f: _text(reader, rows, f) for f in (
        "buyer_name", "buyer_ref", "ship_name", "ship_address1", "ship_address2", "ship_city",
        "ship_region", "ship_postal_code",
    )}

    lines: list[CanonicalLine] = []
    seen_refs: set[str] = set()
    for row in rows:
        line_ref = reader.get(row, "line_ref") or None
        if profile.name == "amazon" and line_ref is not None:
            if line_ref in seen_refs:
                continue  # Amazon continues a long item row on the next; the item is counted once
            seen_refs.add(line_ref)
        sku = reader.get(row, "sku")
        if not sku:
            row.problems.append("no sku")
        elif len(sku) > _MAX_LEN["sku"]:
            row.problems.append(f"sku is longer than {_MAX_LEN['sku']} characters")
        if line_ref is not None and len(line_ref) > _MAX_LEN["line_ref"]:
            row.problems.append(f"line id is longer than {_MAX_LEN['line_ref']} characters")
        qty = price = None
        try:
            qty = _qty(reader.get(row, "qty"))
        except _Bad as exc:
            row.problems.append(str(exc))
        if currency:
            try:
                if profile.name == "amazon":
                    total = _minor(reader.get(row, "line_total"), currency, "item price")
                    price = _per_unit(total, qty) if qty else None
                else:
                    price = _minor(reader.get(row, "unit_price"), currency, "unit price")
            except _Bad as exc:
                row.problems.append(str(exc))
        if row.problems or qty is None or price is None:
            continue
        description = reader.get(row, "description")[:300] or None  # informational: cut, not refused
        lines.append(CanonicalLine(sku, qty, price, profile.item_kind, description=description, line_ref=line_ref))

    if any(r.problems for r in rows):
        return None
    order = CanonicalOrder(
        channel=channel,
        external_id=key,
        lines=tuple(lines),
        currency=currency,
        updated_at=stamps["updated_at"],
        placed_at=stamps["placed_at"],
        buyer_name=texts["buyer_name"] or (texts["ship_name"] if profile.name == "shopify" else None),
        buyer_ref=texts["buyer_ref"],
        ship_to=Address(
            name=texts["ship_name"],
            address1=texts["ship_address1"],
            address2=texts["ship_address2"],
            city=texts["ship_city"],
            region=texts["ship_region"],
            postal_code=texts["ship_postal_code"],
            country=country,
        ),
    )
    try:
        order.validate()
    except OrderInvalid as exc:
        rows[0].problems.append(str(exc))
        return None
    return order


def parse(profile: CsvProfile | str, data: bytes, *, channel: str) -> ParsedCsv:
    """Read a whole file; never raises for what is in it (problems become `rejects`)."""
    prof = as_profile(profile)
    text, encoding = decode(data)
    delimiter = prof.delimiter or _DEFAULT_DELIMITER[prof.name]
    if delimiter == "auto":
        delimiter = _sniff(text)
    result = ParsedCsv(encoding=encoding, delimiter=delimiter)

    physical = list(io.StringIO(text, newline=""))  # the lines csv reads, numbered as it counts them
    records = _records(physical, delimiter, quoted=prof.name != "amazon")
    header_line = 1
    for line_no, cells, why in records:
        if cells is None:
            result.rejects.append(RowReject(line_no, f"cannot read the header: {why}", [physical[line_no - 1].rstrip("\r\n")]))
            return result
        if any(c.strip() for c in cells):
            header_line, result.header = line_no, cells
            result.rows[line_no] = cells
            break
    else:
        result.rejects.append(RowReject(1, "the file has no header row", []))
        return result

    reader = _Reader(prof, result.header)
    if reader.missing:
        names = ", ".join(reader.missing)
        reason = f"no column {names} in the header" if len(reader.missing) == 1 else f"no columns {names} in the header"
        if len(result.header) == 1 and any(d in result.header[0] for d in _SNIFFED if d != delimiter):
            reason += f" (it reads as one column: is the delimiter {_sniff(text)!r}?)"
        result.rejects.append(RowReject(header_line, reason, result.header))
        return result

    groups: dict[str, list[_Row]] = {}
    for line_no, cells, why in records:
        if cells is None:
            raw = physical[line_no - 1].rstrip("\r\n") if line_no <= len(physical) else ""
            result.rejects.append(RowReject(line_no, f"cannot read this row: {why}", [raw]))
            continue
        if not any(c.strip() for c in cells):
            continue
        result.rows[line_no] = cells
        row = _Row(line_no, cells)
        extra = [c for c in cells[reader.width :] if c.strip()]
        if extra:
            row.problems.append(f"{len(cells)} cells but the header has {reader.width}")
        key = reader.get(row, "order_id")
        if not key:
            result.rejects.append(RowReject(line_no, "; ".join(["no order id", *row.problems]), cells))
            continue
        groups.setdefault(key, []).append(row)

    for key, rows in groups.items():
        order = _build(reader, key, rows, channel)
        if order is not None:
            result.orders.append(order)
            result.sources[key] = tuple(SourceRow(r.line_no, r.cells) for r in rows)
            continue
        bad = next(r for r in rows if r.problems)
        because = f"order {key!r} not taken: line {bad.line_no}: {bad.problems[0]}"
        for r in rows:
            result.rejects.append(RowReject(r.line_no, "; ".join(r.problems) or because, r.cells))
    result.rejects.sort(key=lambda r: r.line_no)
    return result
