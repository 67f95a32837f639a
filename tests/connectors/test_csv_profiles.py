from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from connectors.csv_profiles import CsvProfile, CsvProfileError, ParsedCsv, RowReject, errors_csv, parse
from store.canonical import CanonicalOrder

UTC = dt.timezone.utc

GENERIC_HEADER = [
    "order_id", "sku", "qty", "unit_price", "currency", "ship_name", "ship_address1", "ship_address2",
    "ship_city", "ship_region", "ship_postal_code", "ship_country", "placed_at", "buyer_name",
]

# A realistic slice of Shopify's order export header (Orders > Export > CSV for Excel).
SHOPIFY_HEADER = [
    "Name", "Email", "Financial Status", "Paid at", "Fulfillment Status", "Fulfilled at", "Accepts Marketing",
    "Currency", "Subtotal", "Shipping", "Taxes", "Total", "Discount Code", "Discount Amount", "Shipping Method",
    "Created at", "Lineitem quantity", "Lineitem name", "Lineitem price", "Lineitem compare at price",
    "Lineitem sku", "Lineitem requires shipping", "Lineitem taxable", "Lineitem fulfillment status",
    "Billing Name", "Billing Street", "Billing Address1", "Billing Address2", "Billing Company", "Billing City",
    "Billing Zip", "Billing Province", "Billing Country", "Billing Phone", "Shipping Name", "Shipping Street",
    "Shipping Address1", "Shipping Address2", "Shipping Company", "Shipping City", "Shipping Zip",
    "Shipping Province", "Shipping Country", "Shipping Phone", "Notes", "Note Attributes", "Cancelled at",
    "Payment Method", "Payment Reference", "Refunded Amount", "Vendor", "Id", "Tags", "Risk Level", "Source",
    "Lineitem discount", "Tax 1 Name", "Tax 1 Value", "Phone", "Billing Province Name", "Shipping Province Name",
]

# The seller-fulfilled Order Report (tab-separated).
AMAZON_HEADER = [
    "order-id", "order-item-id", "purchase-date", "payments-date", "buyer-email", "buyer-name",
    "buyer-phone-number", "sku", "product-name", "quantity-purchased", "currency", "item-price", "item-tax",
    "shipping-price", "shipping-tax", "ship-service-level", "recipient-name", "ship-address-1",
    "ship-address-2", "ship-address-3", "ship-city", "ship-state", "ship-postal-code", "ship-country",
    "ship-phone-number", "is-business-order", "purchase-order-number", "price-designation",
]


def table(header: list[str], rows: list[dict[str, str]], *, delimiter: str = ",", encoding: str = "utf-8") -> bytes:
    out = io.StringIO()
    if delimiter == "\t":
        # Amazon's flat files are not quoted; a `"` in a product name is just a character.
        out.write("\t".join(header) + "\r\n")
        for row in rows:
            out.write("\t".join(row.get(h, "") for h in header) + "\r\n")
    else:
        writer = csv.DictWriter(out, header, restval="", delimiter=delimiter, lineterminator="\r\n")
        writer.writeheader()
        writer.writerows(rows)
    return out.getvalue().encode(encoding)


def generic_row(order: str, sku: str, qty: str, price: str, **more: str) -> dict[str, str]:
    return {"order_id": order, "sku": sku, "qty": qty, "unit_price": price, "currency": "USD", **more}


def shopify_row(name: str, sku: str, qty: str, price: str, **more: str) -> dict[str, str]:
    return {"Name": name, "Email": "ada@example.com", "Lineitem quantity": qty, "Lineitem name": f"Thing {sku}",
            "Lineitem price": price, "Lineitem sku": sku, "Lineitem requires shipping": "true", **more}


def shopify_head(**more: str) -> dict[str, str]:
    """The columns Shopify fills on an order's first row only."""
    return {"Financial Status": "paid", "Currency": "USD", "Created at": "2026-11-01 10:15:00 -0500",
            "Billing Name": "Ada Lovelace", "Shipping Name": "Ada Lovelace", "Shipping Address1": "1 Main St",
            "Shipping City": "Hoboken", "Shipping Zip": "'07030", "Shipping Province": "NJ",
            "Shipping Country": "US", "Shipping Province Name": "New Jersey", **more}


def amazon_row(order: str, item: str, sku: str, qty: str, total: str, **more: str) -> dict[str, str]:
    return {"order-id": order, "order-item-id": item, "purchase-date": "2026-11-01T18:54:21+00:00",
            "buyer-name": "Ada Lovelace", "sku": sku, "product-name": f'Thing {sku} 12" wide',
            "quantity-purchased": qty, "currency": "USD", "item-price": total, "recipient-name": "Ada Lovelace",
            "ship-address-1": "1 Main St", "ship-city": "Austin", "ship-state": "TX", "ship-postal-code": "78701",
            "ship-country": "US", **more}


def lines(order: CanonicalOrder) -> list[tuple[str, int, int]]:
    return [(ln.item, ln.qty, ln.unit_price_minor) for ln in order.lines]


def by_id(parsed: ParsedCsv) -> dict[str, CanonicalOrder]:
    return {o.external_id: o for o in parsed.orders}


# --- each profile reads multi-row orders -------------------------------------------------------


@dataclass(frozen=True)
class Case:
    profile: str
    data: bytes
    # external id -> (lines, lines of the file it came from)
    expect: dict[str, tuple[list[tuple[str, int, int]], tuple[int, ...]]]
    check: Callable[[dict[str, CanonicalOrder]], None]


def _generic_checks(orders: dict[str, CanonicalOrder]) -> None:
    o = orders["G1"]
    assert o.placed_at == dt.datetime(2026, 11, 1, 10, 0, tzinfo=UTC)
    assert (o.ship_to.name, o.ship_to.city, o.ship_to.region, o.ship_to.postal_code, o.ship_to.country) == (
        "Ada Lovelace", "Austin", "TX", "78701", "US")
    assert o.buyer_name == "Ada" and o.channel == "web" and o.currency == "USD"
    assert o.lines[0].item_kind == "sku"


def _shopify_checks(orders: dict[str, CanonicalOrder]) -> None:
    o = orders["#1001"]
    assert o.placed_at == dt.datetime(2026, 11, 1, 15, 15, tzinfo=UTC)
    assert (o.ship_to.name, o.ship_to.address1, o.ship_to.city, o.ship_to.region, o.ship_to.postal_code,
            o.ship_to.country) == ("Ada Lovelace", "1 Main St", "Hoboken", "NJ", "07030", "US")
    assert o.buyer_name == "Ada Lovelace"
    assert [ln.description for ln in o.lines] == ["Thing S1", "Thing S2"]
    assert orders["#1002"].currency == "EUR"


def _amazon_checks(orders: dict[str, CanonicalOrder]) -> None:
    o = orders["114-3941689-8772232"]
    assert o.placed_at == dt.datetime(2026, 11, 1, 18, 54, 21, tzinfo=UTC)
    assert (o.ship_to.name, o.ship_to.address1, o.ship_to.address2, o.ship_to.city, o.ship_to.country) == (
        "Ada Lovelace", "1 Main St", "Apt 4, c/o Lovelace", "Austin", "US")
    assert [ln.line_ref for ln in o.lines] == ["46532401238842", "46532401238843"]
    assert o.lines[0].description == 'Thing S1 12" wide'


CASES = [
    Case(
        "generic",
        table(GENERIC_HEADER, [
            generic_row("G1", "S1", "2", "12.50", ship_name="Ada Lovelace", ship_city="Austin", ship_region="TX",
                        ship_postal_code="78701", ship_country="us", placed_at="2026-11-01T10:00:00Z",
                        buyer_name="Ada"),
            generic_row("G2", "S3", "1", "5"),
            generic_row("G1", "S2", "1", "3.00"),  # rows of one order need not be adjacent
        ]),
        {"G1": ([("S1", 2, 1250), ("S2", 1, 300)], (2, 4)), "G2": ([("S3", 1, 500)], (3,))},
        _generic_checks,
    ),
    Case(
        "shopify",
        table(SHOPIFY_HEADER, [
            shopify_row("#1001", "S1", "2", "10.00", **shopify_head()),
            shopify_row("#1001", "S2", "1", "20.00"),
            shopify_row("#1002", "S3", "3", "7.5", **shopify_head(Currency="EUR", **{"Shipping Country": "DE"})),
        ]),
        {"#1001": ([("S1", 2, 1000), ("S2", 1, 2000)], (2, 3)), "#1002": ([("S3", 3, 750)], (4,))},
        _shopify_checks,
    ),
    Case(
        "amazon",
        table(AMAZON_HEADER, [
            amazon_row("114-3941689-8772232", "46532401238842", "S1", "2", "25.98",
                       **{"ship-address-2": "Apt 4", "ship-address-3": "c/o Lovelace"}),
            amazon_row("114-3941689-8772232", "46532401238843", "S2", "3", "10.00"),
            # Amazon continues a long row on the next one, repeating the item id: one item, not two.
            {"order-id": "114-3941689-8772232", "order-item-id": "46532401238842"},
            amazon_row("114-0000000-0000001", "46532401238844", "S3", "1", "5.00"),
        ], delimiter="\t"),
        {
            # item-price is the total for the quantity: 25.98 / 2, and 10.00 / 3 rounded to the cent.
            "114-3941689-8772232": ([("S1", 2, 1299), ("S2", 3, 333)], (2, 3, 4)),
            "114-0000000-0000001": ([("S3", 1, 500)], (5,)),
        },
        _amazon_checks,
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.profile for c in CASES])
def test_each_profile_reads_multi_row_orders(case: Case) -> None:
    parsed = parse(case.profile, case.data, channel="web")
    assert parsed.rejects == []
    orders = by_id(parsed)
    assert {k: (lines(o), parsed.lines_of(o)) for k, o in orders.items()} == case.expect
    case.check(orders)


# --- a bad row rejects its whole order; the others still go in --------------------------------------

BAD_ROW = [
    pytest.param(
        "generic",
        table(GENERIC_HEADER, [generic_row("G1", "S1", "1", "1"), generic_row("G2", "S1", "1", "1"),
                               generic_row("G1", "S2", "x", "1")]),
        "G1", {2: None, 4: "quantity 'x' is not a whole number"}, {"G2"},
        id="generic",
    ),
    pytest.param(
        "shopify",
        table(SHOPIFY_HEADER, [shopify_row("#1", "S1", "1", "1.00", **shopify_head()), shopify_row("#1", "", "1", "2.00"),
                               shopify_row("#2", "S1", "1", "1.00", **shopify_head())]),
        "#1", {2: None, 3: "no sku"}, {"#2"},
        id="shopify",
    ),
    pytest.param(
        "amazon",
        table(AMAZON_HEADER, [amazon_row("A-1", "1", "S1", "1", "1.00"), amazon_row("A-2", "2", "S1", "1", "1.00"),
                              amazon_row("A-1", "3", "S2", "1", "12,99")], delimiter="\t"),
        "A-1", {2: None, 4: "item price '12,99' is not a decimal amount (like 12.50)"}, {"A-2"},
        id="amazon",
    ),
]


@pytest.mark.parametrize(("profile", "data", "bad_order", "reasons", "good"), BAD_ROW)
def test_a_bad_row_rejects_its_whole_order_with_line_numbers(
    profile: str, data: bytes, bad_order: str, reasons: dict[int, str | None], good: set[str]
) -> None:
    parsed = parse(profile, data, channel="web")
    assert set(by_id(parsed)) == good
    assert [r.line_no for r in parsed.rejects] == sorted(reasons)
    bad_line, bad_reason = next((n, r) for n, r in reasons.items() if r)
    for reject in parsed.rejects:
        if reject.line_no == bad_line:
            assert reject.reason == bad_reason
        else:  # its sibling says which line sank the order
            assert reject.reason == f"order {bad_order!r} not taken: line {bad_line}: {bad_reason}"
        assert reject.row == parsed.rows[reject.line_no]
    assert parsed.rejects[-1].message == f"line {bad_line}: {bad_reason}"


# --- missing columns ------------------------------------------------------------------------------

MISSING = [
    ("generic", [h for h in GENERIC_HEADER if h != "qty"], ",", "no column 'qty' in the header"),
    ("generic", [h for h in GENERIC_HEADER if h not in ("qty", "currency")], ",",
     "no columns 'qty', 'currency' in the header"),
    ("shopify", [h for h in SHOPIFY_HEADER if h != "Lineitem sku"], ",", "no column 'Lineitem sku' in the header"),
    ("amazon", [h for h in AMAZON_HEADER if h != "item-price"], "\t", "no column 'item-price' in the header"),
    ("amazon", AMAZON_HEADER, ",",
     "no columns 'order-id', 'sku', 'quantity-purchased', 'item-price', 'currency' in the header "
     "(it reads as one column: is the delimiter ','?)"),
]


@pytest.mark.parametrize(("profile", "header", "delimiter", "reason"), MISSING,
                         ids=["generic-one", "generic-two", "shopify", "amazon", "amazon-wrong-delimiter"])
def test_missing_columns_reject_the_file_at_its_header(profile: str, header: list[str], delimiter: str, reason: str) -> None:
    rows = [{h: "1" for h in header}, {h: "2" for h in header}]
    parsed = parse(profile, table(header, rows, delimiter=delimiter), channel="web")
    assert parsed.orders == []
    assert [(r.line_no, r.reason) for r in parsed.rejects] == [(1, reason)]


def test_an_empty_file_is_rejected_with_a_reason() -> None:
    assert [r.message for r in parse("generic", b"", channel="web").rejects] == ["line 1: the file has no header row"]
    assert [r.message for r in parse("generic", b"\r\n\r\n", channel="web").rejects] == ["line 1: the file has no header row"]


# --- bad quantities, prices and other values --------------------------------------------------------

VALUES: list[tuple[dict[str, str], str]] = [
    ({"qty": "x"}, "quantity 'x' is not a whole number"),
    ({"qty": "1.5"}, "quantity '1.5' is not a whole number"),
    ({"qty": "-1"}, "quantity '-1' is negative"),
    ({"qty": "0"}, "quantity 0 must be at least 1"),
    ({"qty": ""}, "no quantity"),
    ({"qty": "2000000"}, "quantity 2000000 is more than 1,000,000"),
    ({"unit_price": "12,99"}, "unit price '12,99' is not a decimal amount (like 12.50)"),
    ({"unit_price": "$5"}, "unit price '$5' is not a decimal amount (like 12.50)"),
    ({"unit_price": "-1.00"}, "unit price '-1.00' is negative"),
    ({"unit_price": "1.999"}, "unit price '1.999' has more decimals than USD allows (2 decimal places)"),
    ({"unit_price": "100.5", "currency": "JPY"}, "unit price '100.5' has more decimals than JPY allows (no decimals)"),
    ({"unit_price": ""}, "no unit price"),
    ({"sku": ""}, "no sku"),
    ({"currency": "US$"}, "currency 'US$' is not an ISO 4217 code"),
    ({"currency": ""}, "no currency"),
    ({"placed_at": "yesterday"}, "order date 'yesterday' is not a date and time (use ISO 8601, like 2026-11-01T10:00:00Z)"),
    ({"ship_country": "USA"}, "ship-to country 'USA' is not a two-letter ISO code (like US)"),
    ({"ship_region": "R" * 65}, "ship-to region is longer than 64 characters"),
    ({"qty": "x", "sku": ""}, "no sku; quantity 'x' is not a whole number"),
]


@pytest.mark.parametrize(("change", "reason"), VALUES, ids=[r for _, r in VALUES])
def test_bad_values_are_explained(change: dict[str, str], reason: str) -> None:
    row = {**generic_row("G1", "S1", "2", "1.50"), **change}
    parsed = parse("generic", table(GENERIC_HEADER, [row, generic_row("G2", "S1", "1", "1")]), channel="web")
    assert [o.external_id for o in parsed.orders] == ["G2"]
    assert [r.message for r in parsed.rejects] == [f"line 2: {reason}"]


def test_prices_follow_the_currency_minor_unit() -> None:
    rows = [generic_row("J", "S1", "1", "1500", currency="JPY"), generic_row("K", "S1", "1", "1.250", currency="KWD"),
            generic_row("U", "S1", "1", ".5"), generic_row("V", "S1", "1", "7.")]
    orders = by_id(parse("generic", table(GENERIC_HEADER, rows), channel="web"))
    assert {k: lines(o)[0][2] for k, o in orders.items()} == {"J": 1500, "K": 1250, "U": 50, "V": 700}


def test_rows_that_disagree_on_the_currency_reject_the_order() -> None:
    rows = [generic_row("G1", "S1", "1", "1"), generic_row("G1", "S2", "1", "1", currency="EUR")]
    parsed = parse("generic", table(GENERIC_HEADER, rows), channel="web")
    assert [r.message for r in parsed.rejects] == [
        "line 2: order 'G1' not taken: line 3: currency 'EUR' differs from 'USD' on line 2",
        "line 3: currency 'EUR' differs from 'USD' on line 2",
    ]


def test_a_row_without_an_order_id_is_rejected_alone() -> None:
    rows = [generic_row("", "S1", "1", "1"), generic_row("G2", "S1", "1", "1")]
    parsed = parse("generic", table(GENERIC_HEADER, rows), channel="web")
    assert [o.external_id for o in parsed.orders] == ["G2"]
    assert [r.message for r in parsed.rejects] == ["line 2: no order id"]


def test_shopify_cancelled_orders_and_country_names_are_refused() -> None:
    rows = [
        shopify_row("#1", "S1", "1", "1.00", **shopify_head(**{"Cancelled at": "2026-11-02 09:00:00 -0500"})),
        shopify_row("#2", "S1", "1", "1.00", **shopify_head(**{"Shipping Country": "United States"})),
        shopify_row("#3", "S1", "1", "1.00", **shopify_head()),
    ]
    parsed = parse("shopify", table(SHOPIFY_HEADER, rows), channel="web")
    assert [o.external_id for o in parsed.orders] == ["#3"]
    assert [r.message for r in parsed.rejects] == [
        "line 2: the order was cancelled in Shopify (2026-11-02 09:00:00 -0500); not taken",
        "line 3: ship-to country 'United States' is not a two-letter ISO code (like US)",
    ]


def test_shopify_country_and_province_codes_win_when_the_export_has_them() -> None:
    header = [*SHOPIFY_HEADER, "Shipping Province Code", "Shipping Country Code"]
    row = shopify_row("#1", "S1", "1", "1.00", **shopify_head(**{
        "Shipping Province": "New Jersey", "Shipping Country": "United States",
        "Shipping Province Code": "NJ", "Shipping Country Code": "US"}))
    (order,) = parse("shopify", table(header, [row]), channel="web").orders
    assert (order.ship_to.region, order.ship_to.country) == ("NJ", "US")


def test_amazon_unit_price_is_item_price_over_quantity() -> None:
    rows = [amazon_row("A", "1", "S1", "2", "25.98"), amazon_row("A", "2", "S2", "4", "10.02"),
            amazon_row("B", "3", "S1", "2", "1500", currency="JPY")]
    orders = by_id(parse("amazon", table(AMAZON_HEADER, rows, delimiter="\t"), channel="amz"))
    # 10.02 / 4 = 2.505: rounded half to even, 2.50.
    assert {k: lines(o) for k, o in orders.items()} == {"A": [("S1", 2, 1299), ("S2", 4, 250)], "B": [("S1", 2, 750)]}


# --- encodings, delimiters and column maps ----------------------------------------------------------

NAME = "Zoë Müller"
ENCODED = [
    ("utf-8", table(GENERIC_HEADER, [generic_row("G1", "S1", "1", "1", ship_name=NAME)])),
    ("utf-8-sig", codecs.BOM_UTF8 + table(GENERIC_HEADER, [generic_row("G1", "S1", "1", "1", ship_name=NAME)])),
    ("cp1252", table(GENERIC_HEADER, [generic_row("G1", "S1", "1", "1", ship_name=NAME + " €")], encoding="cp1252")),
    ("latin-1", table(GENERIC_HEADER, [generic_row("G1", "S1", "1", "1", ship_name=NAME + " \x81")], encoding="latin-1")),
    ("utf-16", table(GENERIC_HEADER, [generic_row("G1", "S1", "1", "1", ship_name=NAME)], encoding="utf-16")),
]


@pytest.mark.parametrize(("encoding", "data"), ENCODED, ids=[e for e, _ in ENCODED])
def test_utf8_with_or_without_bom_and_latin1_files_read_alike(encoding: str, data: bytes) -> None:
    parsed = parse("generic", data, channel="web")
    assert parsed.encoding == encoding and parsed.rejects == []
    (order,) = parsed.orders
    assert order.ship_to.name is not None and order.ship_to.name.startswith(NAME)


def test_generic_column_map_names_their_headers() -> None:
    profile = CsvProfile("generic", columns={"order_id": "PO Number", "sku": "Item", "qty": "Menge",
                                             "unit_price": "Preis"}, delimiter="auto", currency="eur")
    data = "PO Number;Item;Menge;Preis;Notiz\r\nP-1;S1;3;2.50;=bitte\r\nP-1;S2;1;1;\r\n".encode("cp1252")
    parsed = parse(profile, data, channel="web")
    assert parsed.delimiter == ";" and parsed.rejects == []
    (order,) = parsed.orders
    assert (order.currency, lines(order)) == ("EUR", [("S1", 3, 250), ("S2", 1, 100)])


def test_a_configured_column_missing_from_the_file_is_named() -> None:
    profile = CsvProfile("generic", columns={"qty": "Menge", "buyer_name": "Kunde"})
    parsed = parse(profile, table(GENERIC_HEADER, [generic_row("G1", "S1", "1", "1")]), channel="web")
    assert [r.message for r in parsed.rejects] == ["line 1: no columns 'Menge' (qty), 'Kunde' (buyer_name) in the header"]


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_auto_delimiter_is_sniffed_from_the_header(delimiter: str) -> None:
    data = table(GENERIC_HEADER, [generic_row("G1", "S1", "1", "1", ship_address1="1 Main St, Apt 4")], delimiter=delimiter)
    parsed = parse(CsvProfile("generic", delimiter="auto"), data, channel="web")
    assert parsed.delimiter == delimiter
    assert [o.ship_to.address1 for o in parsed.orders] == ["1 Main St, Apt 4"]


def test_quoted_newlines_keep_physical_line_numbers_and_broken_quotes_are_reported() -> None:
    text = (
        "order_id,sku,qty,unit_price,currency,ship_address1\r\n"
        'G1,S1,1,1,USD,"1 Main St\r\nBack door"\r\n'
        "G2,S1,x,1,USD,\r\n"
        'G3,S1,1,1,USD,"1 Main "St"\r\n'
        "G4,S1,1,1,USD,\r\n"
    )
    parsed = parse("generic", text.encode(), channel="web")
    assert [o.external_id for o in parsed.orders] == ["G1", "G4"]
    assert by_id(parsed)["G1"].ship_to.address1 == "1 Main St\r\nBack door"
    assert [r.message for r in parsed.rejects] == [
        "line 4: quantity 'x' is not a whole number",
        "line 5: cannot read this row: text after a closing quote",
    ]
    unclosed = parse("generic", b'order_id,sku,qty,unit_price,currency\nG1,S1,1,1,USD\nG2,"S1,1,1,USD\nG3,S1,1,1,USD\n', channel="web")
    assert [o.external_id for o in unclosed.orders] == ["G1"]
    assert [r.message for r in unclosed.rejects] == ["line 3: cannot read this row: a quoted cell is never closed"]


def test_a_row_with_more_cells_than_the_header_is_rejected() -> None:
    text = "order_id,sku,qty,unit_price,currency\r\nG1,S1,1,1,USD,,\r\nG2,S1,1,1,USD,oops\r\n"
    parsed = parse("generic", text.encode(), channel="web")
    assert [o.external_id for o in parsed.orders] == ["G1"]  # trailing empty cells are harmless
    assert [r.message for r in parsed.rejects] == ["line 3: 6 cells but the header has 5"]


# --- the operator's errors file ---------------------------------------------------------------------


def test_errors_csv_defuses_formula_looking_cells() -> None:
    rows = [generic_row("=HYPERLINK(\"http://x\")", "S1", "x", "1", ship_name="+1", ship_city="-2",
                        ship_region="@SUM(A1)", ship_address1="\tTab", ship_address2="\rCR", buyer_name="plain")]
    parsed = parse("generic", table(GENERIC_HEADER, rows), channel="web")
    body = errors_csv(parsed.header, parsed.rejects)
    assert body.startswith(codecs.BOM_UTF8)
    header, row = list(csv.reader(io.StringIO(body[3:].decode("utf-8"), newline="")))
    assert header == ["line", "reason", *GENERIC_HEADER]
    cells = dict(zip(header, row, strict=True))
    assert cells["line"] == "2" and cells["reason"] == "quantity 'x' is not a whole number"
    assert cells["order_id"] == "'=HYPERLINK(\"http://x\")"
    assert [cells[k] for k in ("ship_name", "ship_city", "ship_region", "ship_address1", "ship_address2")] == [
        "'+1", "'-2", "'@SUM(A1)", "'\tTab", "'\rCR"]
    assert cells["buyer_name"] == "plain"
    for value in [*header, *row]:
        assert not value.startswith(("=", "+", "-", "@", "\t", "\r"))


def test_errors_csv_defuses_the_header_and_the_reason_too() -> None:
    body = errors_csv(["=cmd|' /C calc'!A0"], [RowReject(7, "-reason", ["@x"])])
    assert list(csv.reader(io.StringIO(body[3:].decode(), newline=""))) == [
        ["line", "reason", "'=cmd|' /C calc'!A0"], ["7", "'-reason", "'@x"]]


# --- configuration ----------------------------------------------------------------------------------

BAD_CONFIG: list[tuple[dict[str, Any], str]] = [
    ({"name": "woo"}, "unknown CSV profile 'woo'; use one of generic, shopify, amazon"),
    ({"name": "shopify", "columns": {"qty": "Q"}}, "a column map is for the generic profile only, not 'shopify'"),
    ({"columns": {"quantity": "Q"}}, "unknown field(s) quantity"),
    ({"columns": {"qty": " "}}, "column for 'qty' must be a non-empty header name"),
    ({"delimiter": "::"}, "delimiter '::' must be one character"),
    ({"name": "amazon", "delimiter": "auto"}, "delimiter 'auto' is for the generic profile only"),
    ({"currency": "dollars"}, "currency 'dollars' is not an ISO 4217 code"),
    ({"item_kind": "asin"}, "item_kind 'asin' is not one of sku"),
]


@pytest.mark.parametrize(("config", "message"), BAD_CONFIG, ids=[m for _, m in BAD_CONFIG])
def test_profile_configuration_is_checked(config: dict[str, Any], message: str) -> None:
    with pytest.raises(CsvProfileError) as err:
        CsvProfile(**config)
    assert str(err.value).startswith(message)


def test_profile_options() -> None:
    assert CsvProfile("amazon").delimiter is None
    assert CsvProfile("generic", delimiter="tab").delimiter == "\t"
    profile = CsvProfile("generic", item_kind="buyer_part", currency="usd")
    (order,) = parse(profile, b"order_id,sku,qty,unit_price\r\nG1,BP-9,1,1\r\n", channel="web").orders
    assert (order.currency, order.lines[0].item_kind, order.lines[0].item) == ("USD", "buyer_part", "BP-9")
