"""Generate the oms pyx12 maps (attribute style) from the segment table below.

    .venv/bin/python edi_maps/maps/generate.py edi_maps/maps

Edit the tables here, not the XML: the maps are this script's output, and a test checks
that they are in step. Element names come from pyx12's dataele.xml plus our
dataele_extra.xml (always the one beside this script).
"""
from __future__ import annotations

import sys
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

# ---- segment library: id -> (name, elements) ---------------------------------------------
# element: (data_ele, usage) | (data_ele, usage, codes) ; codes list or "ext:<codeset>"
# composite: ("C", data_ele, usage, name, [elements])


def pairs(start: int, count: int, a: str, b: str) -> list[tuple]:
    out = []
    for _ in range(count):
        out += [(a, "S"), (b, "S")]
    return out


C040 = ("C", "C040", "S", "Reference Identifier",
        [("128", "R"), ("127", "R"), ("128", "S"), ("127", "S"), ("128", "S"), ("127", "S")])
C001 = ("C", "C001", "S", "Composite Unit of Measure",
        [("355", "R")] + [(d, "S") for d in ("1018", "649", "355", "1018", "649", "355", "1018",
                                             "649", "355", "1018", "649", "355", "1018", "649")])
AK5_CODES = ['1', '2', '3', '4', '5', '6', '7', '8', '9', '10', '11', '12', '13', '15', '16', '17',
             '18', '19', '23', '24', '25', '26', '27']
AK9_CODES = ['1', '2', '3', '4', '5', '6', '10', '11', '12', '13', '14', '15', '16', '17', '18',
             '19', '23', '24', '25', '26']
ACK_STATUS = ["AC", "AR", "BP", "DR", "IA", "IB", "IC", "ID", "IE", "IF", "IH", "IP", "IQ", "IR",
              "IS", "IW", "R1", "R2", "R3", "R4", "SP"]

SEG: dict[str, tuple[str, list]] = {
    "BEG": ("Beginning Segment for Purchase Order",
            [("353", "R"), ("92", "R"), ("324", "R"), ("328", "S"), ("373", "R"), ("367", "S"),
             ("587", "S"), ("1019", "S"), ("1166", "S"), ("1232", "S"), ("786", "S"),
             ("640", "S")]),
    "BCH": ("Beginning Segment for Purchase Order Change",
            [("353", "R"), ("92", "R"), ("324", "R"), ("328", "S"), ("327", "S"), ("373", "R"),
             ("367", "S"), ("373", "S"), ("373", "S"), ("373", "S"), ("640", "S")]),
    "BAK": ("Beginning Segment for Purchase Order Acknowledgment",
            [("353", "R"), ("587", "R"), ("324", "R"), ("373", "R"), ("328", "S"), ("326", "S"),
             ("367", "S"), ("127", "S"), ("373", "S"), ("1019", "S")]),
    "BSN": ("Beginning Segment for Ship Notice",
            [("353", "R"), ("396", "R"), ("373", "R"), ("337", "R"), ("1005", "S"), ("640", "S"),
             ("641", "S")]),
    "BIG": ("Beginning Segment for Invoice",
            [("373", "R"), ("76", "R"), ("373", "S"), ("324", "S"), ("328", "S"), ("327", "S"),
             ("640", "S"), ("353", "S"), ("306", "S"), ("76", "S")]),
    "BIA": ("Beginning Segment for Inventory Inquiry/Advice",
            [("353", "R"), ("755", "R"), ("127", "R"), ("373", "R"), ("337", "S"), ("640", "S")]),
    "CUR": ("Currency",
            [("98", "R"), ("100", "R", "ext:currency"), ("280", "S"), ("98", "S"),
             ("100", "S", "ext:currency"), ("669", "S"), ("374", "S"), ("373", "S"),
             ("337", "S"), ("374", "S"), ("373", "S"), ("337", "S")]),
    "REF": ("Reference Identification", [("128", "R"), ("127", "S"), ("352", "S"), C040]),
    "PER": ("Administrative Communications Contact",
            [("366", "R"), ("93", "S"), ("365", "S"), ("364", "S"), ("365", "S"), ("364", "S"),
             ("365", "S"), ("364", "S"), ("443", "S")]),
    "TAX": ("Tax Reference",
            [("325", "S"), ("309", "S"), ("310", "S"), ("309", "S"), ("310", "S"), ("309", "S"),
             ("310", "S"), ("309", "S"), ("310", "S"), ("309", "S"), ("310", "S"), ("441", "S"),
             ("1179", "S")]),
    "FOB": ("F.O.B. Related Instructions",
            [("146", "R"), ("309", "S"), ("352", "S"), ("334", "S"), ("335", "S"), ("309", "S"),
             ("352", "S"), ("54", "S"), ("352", "S")]),
    "CSH": ("Sales Requirements",
            [("563", "S"), ("306", "S"), ("610", "S"), ("508", "S"), ("373", "S"), ("363", "S"),
             ("326", "S"), ("560", "S"), ("566", "S"), ("954", "S"), ("1004", "S"), ("1073", "S")]),
    "ITD": ("Terms of Sale/Deferred Terms of Sale",
            [("336", "S"), ("333", "S"), ("338", "S"), ("370", "S"), ("351", "S"), ("446", "S"),
             ("386", "S"), ("362", "S"), ("388", "S"), ("389", "S"), ("342", "S"), ("352", "S"),
             ("765", "S"), ("107", "S"), ("954", "S")]),
    "DTM": ("Date/Time Reference",
            [("374", "R"), ("373", "S"), ("337", "S"), ("623", "S"), ("1250", "S"),
             ("1251", "S")]),
    "PKG": ("Marking, Packaging, Loading",
            [("349", "S"), ("753", "S"), ("559", "S"), ("754", "S"), ("352", "S"), ("400", "S")]),
    "TD1": ("Carrier Details (Quantity and Weight)",
            [("103", "S"), ("80", "S"), ("23", "S"), ("22", "S"), ("79", "S"), ("187", "S"),
             ("81", "S"), ("355", "S"), ("183", "S"), ("355", "S")]),
    "TD5": ("Carrier Details (Routing Sequence/Transit Time)",
            [("133", "S"), ("66", "S"), ("67", "S"), ("91", "S"), ("387", "S"), ("368", "S"),
             ("309", "S"), ("310", "S"), ("731", "S"), ("732", "S"), ("733", "S"), ("284", "S"),
             ("284", "S"), ("284", "S"), ("26", "S")]),
    "TD3": ("Carrier Details (Equipment)",
            [("40", "S"), ("206", "S"), ("207", "S"), ("187", "S"), ("81", "S"), ("355", "S"),
             ("102", "S"), ("407", "S"), ("225", "S"), ("24", "S")]),
    "TD4": ("Carrier Details (Special Handling, or Hazardous Materials, or Both)",
            [("152", "S"), ("208", "S"), ("209", "S"), ("352", "S"), ("1073", "S")]),
    "MAN": ("Marks and Numbers",
            [("88", "R"), ("87", "R"), ("87", "S"), ("88", "S"), ("87", "S"), ("87", "S")]),
    "N9": ("Reference Identification",
           [("128", "R"), ("127", "S"), ("369", "S"), ("373", "S"), ("337", "S"), ("623", "S"),
            C040]),
    "MSG": ("Message Text", [("933", "R"), ("934", "S"), ("1470", "S")]),
    "NTE": ("Note/Special Instruction", [("363", "S"), ("352", "R")]),
    "N1": ("Name",
           [("98", "R"), ("93", "S"), ("66", "S"), ("67", "S"), ("706", "S"), ("98", "S")]),
    "N2": ("Additional Name Information", [("93", "R"), ("93", "S")]),
    "N3": ("Address Information", [("166", "R"), ("166", "S")]),
    "N4": ("Geographic Location",
           [("19", "S"), ("156", "S"), ("116", "S"), ("26", "S"), ("309", "S"), ("310", "S"),
            ("1715", "S")]),
    "PO1": ("Baseline Item Data",
            [("350", "S"), ("330", "R"), ("355", "R"), ("212", "S"), ("639", "S")]
            + pairs(6, 10, "235", "234")),
    "LIN": ("Item Identification", [("350", "S"), ("235", "R"), ("234", "R")]
            + pairs(4, 14, "235", "234")),
    "SI": ("Service Characteristic Identification",
           [("559", "R"), ("1000", "R"), ("234", "R")] + pairs(4, 9, "1000", "234")),
    "PO3": ("Additional Item Detail",
            [("371", "R"), ("373", "S"), ("236", "S"), ("212", "S"), ("639", "S"), ("380", "R"),
             ("355", "R"), ("352", "S")]),
    "CTP": ("Pricing Information",
            [("687", "S"), ("236", "S"), ("212", "S"), ("380", "S"), C001, ("648", "S"),
             ("649", "S"), ("782", "S"), ("639", "S"), ("499", "S"), ("289", "S")]),
    "MEA": ("Measurements",
            [("737", "S"), ("738", "S"), ("739", "S"), C001, ("740", "S"), ("741", "S"),
             ("935", "S"), ("936", "S"), ("752", "S"), ("1373", "S")]),
    "PID": ("Product/Item Description",
            [("349", "R"), ("750", "S"), ("559", "S"), ("751", "S"), ("352", "S"), ("752", "S"),
             ("822", "S"), ("1073", "S"), ("819", "S")]),
    "PO4": ("Item Physical Details",
            [("356", "S"), ("357", "S"), ("355", "S"), ("103", "S"), ("187", "S"), ("384", "S"),
             ("355", "S"), ("385", "S"), ("355", "S"), ("82", "S"), ("189", "S"), ("65", "S"),
             ("355", "S"), ("810", "S"), ("752", "S"), ("350", "S"), ("350", "S"),
             ("1470", "S")]),
    "SAC": ("Service, Promotion, Allowance, or Charge Information",
            [("248", "R"), ("1300", "S"), ("559", "S"), ("1301", "S"), ("610", "S"), ("378", "S"),
             ("332", "S"), ("118", "S"), ("355", "S"), ("380", "S"), ("380", "S"), ("331", "S"),
             ("127", "S"), ("770", "S"), ("352", "S"), ("819", "S")]),
    "SDQ": ("Destination Quantity",
            [("355", "R"), ("66", "S"), ("67", "R"), ("380", "R")] + pairs(5, 9, "67", "380")
            + [("310", "S")]),
    "SCH": ("Line Item Schedule",
            [("380", "R"), ("355", "R"), ("98", "S"), ("93", "S"), ("374", "R"), ("373", "R"),
             ("337", "S"), ("374", "S"), ("373", "S"), ("337", "S"), ("326", "S"), ("350", "S")]),
    "CTT": ("Transaction Totals",
            [("354", "R"), ("347", "S"), ("81", "S"), ("355", "S"), ("183", "S"), ("355", "S"),
             ("352", "S")]),
    "AMT": ("Monetary Amount", [("522", "R"), ("782", "R"), ("478", "S")]),
    "HL": ("Hierarchical Level",
           [("628", "R"), ("734", "S"), ("735", "R"), ("736", "S", ["0", "1"])]),
    "SN1": ("Item Detail (Shipment)",
            [("350", "S"), ("382", "R"), ("355", "R"), ("646", "S"), ("330", "S"), ("355", "S"),
             ("728", "S"), ("668", "S")]),
    "SLN": ("Subline Item Detail",
            [("350", "R"), ("350", "S"), ("662", "R"), ("380", "S"), C001, ("212", "S"),
             ("639", "S"), ("662", "S")] + pairs(9, 10, "235", "234")),
    "PRF": ("Purchase Order Reference",
            [("324", "R"), ("328", "S"), ("327", "S"), ("373", "S"), ("367", "S"), ("92", "S")]),
    "IT1": ("Baseline Item Data (Invoice)",
            [("350", "S"), ("358", "R"), ("355", "R"), ("212", "S"), ("639", "S")]
            + pairs(6, 10, "235", "234")),
    "IT3": ("Additional Item Data",
            [("382", "S"), ("355", "S"), ("368", "S"), ("383", "S"), ("371", "S")]),
    "TXI": ("Tax Information",
            [("963", "R"), ("782", "S"), ("954", "S"), ("955", "S"), ("956", "S"), ("441", "S"),
             ("662", "S"), ("828", "S"), ("325", "S"), ("350", "S")]),
    "QTY": ("Quantity", [("673", "R"), ("380", "S"), C001, ("61", "S")]),
    "TDS": ("Total Monetary Value Summary",
            [("610", "R"), ("610", "S"), ("610", "S"), ("610", "S")]),
    "CAD": ("Carrier Detail",
            [("91", "S"), ("206", "S"), ("207", "S"), ("140", "S"), ("387", "S"), ("368", "S"),
             ("128", "S"), ("127", "S"), ("284", "S")]),
    "ISS": ("Invoice Shipment Summary",
            [("382", "S"), ("355", "S"), ("81", "S"), ("355", "S"), ("183", "S"), ("355", "S")]),
    "ACK": ("Line Item Acknowledgment",
            [("668", "R", ACK_STATUS), ("380", "S"), ("355", "S"), ("374", "S"), ("373", "S"),
             ("326", "S")] + pairs(7, 10, "235", "234") + [("559", "S"), ("822", "S"),
                                                            ("1271", "S")]),
    "POC": ("Line Item Change",
            [("350", "S"), ("670", "R"), ("330", "S"), ("671", "S"), ("355", "S"), ("212", "S"),
             ("639", "S")] + pairs(8, 10, "235", "234")),
    "UIT": ("Unit Detail", [C001[:2] + ("R",) + C001[3:], ("212", "S"), ("639", "S")]),
    "SPI": ("Specification Identifier", [("786", "R"), ("128", "S"), ("127", "S"), ("352", "S")]),
    "FA1": ("Type of Financial Accounting Data", [("559", "R"), ("1300", "S"), ("248", "S")]),
    "FA2": ("Accounting Data", [("1196", "R"), ("1195", "R")]),
    # 997
    "AK1": ("Functional Group Response Header", [("479", "R"), ("28", "R"), ("480", "S")]),
    "AK2": ("Transaction Set Response Header", [("143", "R"), ("329", "R"), ("1705", "S")]),
    "AK3": ("Data Segment Note",
            [("721", "R"), ("719", "R"), ("447", "S"),
             ("720", "S", ['1', '2', '3', '4', '5', '6', '7', '8'])]),
    "AK4": ("Data Element Note",
            [("C", "C030", "R", "Position in Segment", [("722", "R"), ("1528", "S"),
                                                         ("1686", "S")]),
             ("725", "S"),
             ("723", "R", ['1', '2', '3', '4', '5', '6', '7', '8', '9', '10', '12', '13']),
             ("724", "S")]),
    "AK5": ("Transaction Set Response Trailer",
            [("717", "R", ["A", "E", "M", "R", "W", "X"])]
            + [("718", "S", AK5_CODES)] * 5),
    "AK9": ("Functional Group Response Trailer",
            [("715", "R", ["A", "E", "M", "P", "R", "W", "X"]), ("97", "R"), ("123", "R"),
             ("2", "R")] + [("716", "S", AK9_CODES)] * 5),
}

# ---- structure DSL --------------------------------------------------------------------------
# ("seg", id, usage, pos, max_use) | ("loop", id, usage, pos, repeat, [children])


def S(xid: str, pos: int, max_use: str = "1", usage: str = "S") -> tuple:
    return ("seg", xid, usage, pos, max_use)


def L(xid: str, pos: int, repeat: str, children: list, usage: str = "S") -> tuple:
    return ("loop", xid, usage, pos, repeat, children)


M = ">1"


def n1_loop(pos: int, xid: str = "N1", extra: list | None = None) -> tuple:
    kids = [S("N1", pos, usage="R"), S("N2", pos + 1, "2"), S("N3", pos + 2, "2"),
            S("N4", pos + 3, M), S("REF", pos + 5, "12"), S("PER", pos + 6, M)]
    return L(xid, pos, "200", kids + (extra or []))


def sac_loop(pos: int, extra: list | None = None) -> tuple:
    return L("SAC", pos, "25", [S("SAC", pos, usage="R"), S("CUR", pos + 1)] + (extra or []))


def n9_loop(pos: int) -> tuple:
    return L("N9", pos, "1000", [S("N9", pos, usage="R"), S("DTM", pos + 1, "10"),
                                 S("MSG", pos + 2, "1000")])


def pid_loop(pos: int) -> tuple:
    return L("PID", pos, "1000", [S("PID", pos, usage="R"), S("MEA", pos + 1, "10")])


def carrier(pos: int) -> list:
    return [S("TD1", pos, M), S("TD5", pos + 1, M), S("TD3", pos + 2, M), S("TD4", pos + 3, "5")]


def order_header(first: str) -> list:
    return [S(first, 20, usage="R"), S("CUR", 40), S("REF", 50, M), S("PER", 60, M),
            S("TAX", 70, M), S("FOB", 80, M), S("CTP", 90, M), S("CSH", 110, "5"),
            sac_loop(120), S("ITD", 130, M), S("DTM", 150, "10"), S("SI", 160, M),
            S("PID", 180, "200"),
            S("MEA", 190, "40"), S("PKG", 220, "200"), *carrier(240), S("MAN", 280, "10"),
            S("AMT", 287, M), n9_loop(295),
            n1_loop(310, extra=[S("FOB", 318, M), *carrier(320), S("PKG", 324, "200")]),
            L("SPI", 350, M, [S("SPI", 350, usage="R"), S("REF", 351, "5"), S("DTM", 352, "5"),
                              S("MSG", 353, "50")])]


def order_detail(first: str, extra: list | None = None) -> tuple:
    kids = [S(first, 10, usage="R"), S("LIN", 15, "1000"), S("SI", 18, M), S("CUR", 20),
            S("PO3", 25, "25"), L("CTP", 40, M, [S("CTP", 40, usage="R"), S("CUR", 41)]),
            S("MEA", 49, "40"), pid_loop(50), S("PO4", 90, M), S("REF", 100, M),
            S("PER", 110, "3"), sac_loop(130), S("ITD", 150, "2"), S("TAX", 170, M),
            S("FOB", 180, M), S("SDQ", 190, "500"), S("DTM", 210, "10"), *carrier(240),
            S("MAN", 290, "10"), S("MSG", 293, M), L("SCH", 295, "200", [
                S("SCH", 295, usage="R"), *carrier(296)]),
            n9_loop(330), n1_loop(350, extra=[S("DTM", 358, M), S("FOB", 359, M),
                                              S("SCH", 360, "200"), *carrier(361),
                                              S("PKG", 365, "200"), S("SDQ", 366, "50")]),
            L("SLN", 470, "1000", [S("SLN", 470, usage="R"), S("MSG", 475, M), S("SI", 480, M),
                                   S("PID", 490, "1000"), S("PO3", 500, "104"),
                                   S("DTM", 510, "10"), S("CTP", 520, "25"), S("PO4", 530),
                                   S("TAX", 540, "3"), S("SAC", 550, "25")])]
    kids += extra or []
    return L(first, 10, M, kids)


def ctt_footer() -> list:
    return [L("CTT", 10, "1", [S("CTT", 10, usage="R"), S("AMT", 20)])]


BODIES: dict[str, tuple[str, str, list, list, list]] = {
    # ts: (name, GS01, header, detail, footer)
    "850": ("Purchase Order", "PO", order_header("BEG"), [order_detail("PO1")], ctt_footer()),
    "860": ("Purchase Order Change Request - Buyer Initiated", "PC", order_header("BCH"),
            [order_detail("POC")], ctt_footer()),
    "855": ("Purchase Order Acknowledgment", "PR", order_header("BAK"),
            [order_detail("PO1", [L("ACK", 270, "104", [S("ACK", 270, usage="R"),
                                                        S("DTM", 271, "10")])])],
            ctt_footer()),
    "856": ("Ship Notice/Manifest", "SH", [S("BSN", 20, usage="R"), S("DTM", 40, "10")],
            [L("HL", 10, M, [
                S("HL", 10, usage="R"), S("LIN", 20), S("SN1", 30), S("SLN", 40, "1000"),
                S("PRF", 50), S("PO4", 60), S("PID", 70, "200"), S("MEA", 80, "40"),
                S("PKG", 90, "25"), S("TD1", 110, "20"), S("TD5", 120, "12"),
                S("TD3", 130, "12"), S("TD4", 140, "5"), S("REF", 150, M),
                S("PER", 160, "3"), S("MAN", 190, M), S("DTM", 200, "10"), S("FOB", 210),
                n1_loop(220, extra=[S("FOB", 228)]), S("SDQ", 290, "50"), S("CUR", 310),
                sac_loop(320)], usage="R")],
            [S("CTT", 10)]),
    "810": ("Invoice", "IN",
            [S("BIG", 20, usage="R"), S("NTE", 30, "100"), S("CUR", 40), S("REF", 50, "12"),
             S("PER", 60, "3"), n1_loop(70), S("ITD", 130, M), S("DTM", 140, "10"),
             S("FOB", 150), S("PID", 160, "200"), S("MEA", 170, "40"), S("PKG", 190, "25"),
             n9_loop(230)],
            [L("IT1", 10, "200000", [
                S("IT1", 10, usage="R"), S("QTY", 15, "5"), S("CUR", 20), S("IT3", 30, "5"),
                S("TXI", 40, "10"), S("CTP", 50, "25"), S("MEA", 59, "40"), pid_loop(60),
                S("PKG", 90, "25"), S("PO4", 100), S("ITD", 110, "2"), S("REF", 120, M),
                S("PER", 130, "5"), S("SDQ", 140, "500"), S("DTM", 150, "10"),
                S("CAD", 160, M), sac_loop(180, extra=[S("TXI", 182, "10")]),
                L("SLN", 200, "1000", [S("SLN", 200, usage="R"), S("DTM", 205, "1"),
                                       S("REF", 210, M), S("PID", 220, "1000"),
                                       S("SAC", 240, "25")]),
                n1_loop(230),
                L("FA1", 260, M, [S("FA1", 260, usage="R"), S("FA2", 261, M)])]),
             # Walmart-style 810s put ISS before TDS; the X12 order has it after SAC.
             L("ISS_BEFORE_TDS", 20, "100", [S("ISS", 20, usage="R"), S("PID", 21)])],
            [S("TDS", 10, usage="R"), S("TXI", 20, "10"), S("CAD", 30), S("AMT", 35, M),
             L("SAC", 40, "25", [S("SAC", 40, usage="R"), S("TXI", 41, "10")]),
             L("ISS", 60, "100", [S("ISS", 60, usage="R"), S("PID", 61)]), S("CTT", 70)]),
    "846": ("Inventory Inquiry/Advice", "IB",
            [S("BIA", 20, usage="R"), S("CUR", 30), S("REF", 40, "12"), S("PER", 50, "3"),
             S("MEA", 60, "10"), S("DTM", 70, "10"), n1_loop(80)],
            [L("LIN", 10, "10000", [
                S("LIN", 10, usage="R"), S("SI", 20, M), S("PID", 30, "200"),
                S("MEA", 40, "40"), S("PKG", 60, "25"), S("TD1", 70, "2"), S("REF", 80, M),
                S("PER", 90, "3"), S("MAN", 100, "10"), S("DTM", 110, "10"),
                S("CTP", 120, "25"), S("REF", 125, M), sac_loop(130),
                L("QTY", 200, M, [S("QTY", 200, usage="R"), S("UIT", 205), S("SCH", 210, "25"),
                                  S("DTM", 220, "10"), S("REF", 230, M)]),
                n1_loop(300, extra=[S("DTM", 308, "10")])])],
            [S("CTT", 10)]),
    "997": ("Functional Acknowledgment", "FA",
            [S("AK1", 20, usage="R"),
             L("AK2", 30, M, [S("AK2", 30, usage="R"),
                              L("AK3", 40, M, [S("AK3", 40, usage="R"), S("AK4", 50, "99")]),
                              S("AK5", 60, usage="R")]),
             S("AK9", 70, usage="R")],
            [], []),
}

ISA_ELES = [("I01", "ISA01"), ("I02", "ISA02"), ("I03", "ISA03"), ("I04", "ISA04"),
            ("I05", "ISA05"), ("I06", "ISA06"), ("I05", "ISA07"), ("I07", "ISA08"),
            ("I08", "ISA09"), ("I09", "ISA10"), ("I10", "ISA11"), ("I11", "ISA12"),
            ("I12", "ISA13"), ("I13", "ISA14"), ("I14", "ISA15"), ("I15", "ISA16")]
GS_ELES = [("479", "R"), ("142", "R"), ("124", "R"), ("373", "R"), ("337", "R"), ("28", "R"),
           ("455", "R", ["T", "X"]), ("480", "R")]


class Writer:
    def __init__(self, names: dict[str, str]) -> None:
        self.out: list[str] = []
        self.names = names

    def w(self, depth: int, text: str) -> None:
        self.out.append("  " * depth + text)

    def element(self, depth: int, xid: str, seq: int, spec: tuple) -> None:
        de, usage = spec[0], spec[1]
        codes = spec[2] if len(spec) > 2 else None
        attrs = (f'xid="{xid}" data_ele="{de}" usage="{usage}" seq="{seq:02d}" '
                 f'name={quoteattr(self.names.get(de, de))}')
        if codes is None:
            self.w(depth, f"<element {attrs}/>")
            return
        self.w(depth, f"<element {attrs}>")
        if isinstance(codes, str):
            self.w(depth + 1, f'<valid_codes external="{codes[4:]}"/>')
        elif seq == 1 and not xid.startswith("GS"):
            # Gotcha 4: valid_codes on element 01 identify the segment; a regex reports a bad
            # code as AK4 7 instead of "segment not found".
            self.w(depth + 1, "<regex>^(" + "|".join(codes) + ")$</regex>")
        else:
            self.w(depth + 1, "<valid_codes>")
            for c in codes:
                self.w(depth + 2, f"<code>{escape(c)}</code>")
            self.w(depth + 1, "</valid_codes>")
        self.w(depth, "</element>")

    def segment(self, depth: int, xid: str, usage: str, pos: int, max_use: str,
                name: str, eles: list) -> None:
        self.w(depth, f'<segment xid="{xid}" usage="{usage}" pos="{pos:03d}" '
                      f'max_use="{escape(max_use)}" name={quoteattr(name)}>')
        for i, spec in enumerate(eles, 1):
            ref = f"{xid}{i:02d}"
            if spec[0] == "C":
                _, de, usage_c, cname, subs = spec
                self.w(depth + 1, f'<composite xid="{ref}" data_ele="{de}" usage="{usage_c}" '
                                  f'seq="{i:02d}" name={quoteattr(cname)}>')
                for j, sub in enumerate(subs, 1):
                    self.element(depth + 2, f"{ref}-{j:02d}", j, sub)
                self.w(depth + 1, "</composite>")
            else:
                self.element(depth + 1, ref, i, spec)
        self.w(depth, "</segment>")

    def node(self, depth: int, n: tuple) -> None:
        if n[0] == "seg":
            _, xid, usage, pos, max_use = n
            name, eles = SEG[xid]
            self.segment(depth, xid, usage, pos, max_use, name, eles)
        else:
            _, xid, usage, pos, repeat, kids = n
            self.w(depth, f'<loop xid="{xid}" usage="{usage}" pos="{pos:03d}" '
                          f'repeat="{escape(repeat)}" name="{xid} loop">')
            for k in kids:
                self.node(depth + 1, k)
            self.w(depth, "</loop>")


def build(ts: str, version: str, names: dict[str, str]) -> str:
    title, gs01, header, detail, footer = BODIES[ts]
    w = Writer(names)
    w.w(0, '<?xml version="1.0" encoding="utf-8"?>')
    w.w(0, f"<!-- oms map: X12 {ts} {title}, version {version}. Generated from a table; usage is "
           "deliberately loose (S) where trading partners vary. -->")
    w.w(0, f'<transaction xid="{ts}" name={quoteattr(f"{title} {ts} {version}")}>')
    w.w(1, '<loop xid="ISA_LOOP" type="explicit" usage="R" pos="001" repeat="&gt;1" '
           'name="Interchange Control Header">')
    w.segment(2, "ISA", "R", 10, "1", "Interchange Control Header",
              [(de, "R") for de, _ in ISA_ELES])
    w.w(2, '<loop xid="GS_LOOP" type="explicit" usage="R" pos="020" repeat="&gt;1" '
           'name="Functional Group Header">')
    gs = list(GS_ELES)
    gs[0] = ("479", "R", [gs01])
    w.segment(3, "GS", "R", 10, "1", "Functional Group Header", gs)
    w.w(3, '<loop xid="ST_LOOP" type="explicit" usage="R" pos="020" repeat="&gt;1" '
           'name="Transaction Set Header">')
    st = [("143", "R", [ts]), ("329", "R")]
    if version.startswith("005"):
        st.append(("1705", "S"))
    w.segment(4, "ST", "R", 5, "1", "Transaction Set Header", st)
    for xid, pos, usage, kids in (("HEADER", 10, "R", header), ("DETAIL", 20, "S", detail),
                                  ("FOOTER", 30, "S", footer)):
        if not kids:
            continue
        w.w(4, f'<loop xid="{xid}" type="wrapper" usage="{usage}" pos="{pos:03d}" '
               f'repeat="1" name="Table {xid.title()}">')
        for k in kids:
            w.node(5, k)
        w.w(4, "</loop>")
    w.segment(4, "SE", "R", 900, "1", "Transaction Set Trailer", [("96", "R"), ("329", "R")])
    w.w(3, "</loop>")
    w.segment(3, "GE", "R", 30, "1", "Functional Group Trailer", [("97", "R"), ("28", "R")])
    w.w(2, "</loop>")
    w.segment(2, "IEA", "R", 30, "1", "Interchange Control Trailer", [("I16", "R"), ("I12", "R")])
    w.w(1, "</loop>")
    w.w(0, "</transaction>")
    return "\n".join(w.out) + "\n"


ISA_NAMES = {
    "I01": "Authorization Information Qualifier", "I02": "Authorization Information",
    "I03": "Security Information Qualifier", "I04": "Security Information",
    "I05": "Interchange ID Qualifier", "I06": "Interchange Sender ID",
    "I07": "Interchange Receiver ID", "I08": "Interchange Date", "I09": "Interchange Time",
    "I10": "Interchange Control Standards Identifier",
    "I11": "Interchange Control Version Number", "I12": "Interchange Control Number",
    "I13": "Acknowledgment Requested", "I14": "Usage Indicator",
    "I15": "Component Element Separator", "I16": "Number of Included Functional Groups",
    "124": "Application Receivers Code", "97": "Number of Transaction Sets Included"}


def load_names(*paths: Path) -> dict[str, str]:
    import xml.etree.ElementTree as ET
    names: dict[str, str] = {}
    for p in paths:
        if p.exists():
            for e in ET.parse(p).getroot().iter("data_ele"):
                names[e.get("ele_num", "")] = e.get("name", "")
    return names | ISA_NAMES


MAPS = [("850", "004010"), ("860", "004010"), ("855", "004010"), ("856", "004010"),
        ("810", "004010"), ("846", "004010"), ("997", "004010"),
        ("850", "005010"), ("855", "005010"), ("856", "005010"), ("810", "005010"),
        ("846", "005010"), ("997", "005010")]


def used_elements() -> set[str]:
    out: set[str] = set()
    for _, eles in SEG.values():
        for e in eles:
            if e[0] == "C":
                out |= {s[0] for s in e[4]}
            else:
                out.add(e[0])
    return out | {d for d, _ in ISA_ELES} | {"479", "142", "124", "373", "337", "28", "455",
                                                "480", "143", "329", "1705", "96", "97", "I16"}


FIC = {"850": "PO", "860": "PC", "855": "PR", "856": "SH", "810": "IN", "846": "IB", "997": "FA"}
VARIANTS = {"004010": ["004010", "004010VICS", "004010UCS"],
            "005010": ["005010", "005010VICS", "005010UCS"]}


def write_index(path: Path) -> None:
    out = ['<?xml version="1.0" encoding="utf-8"?>',
           "<!-- oms map index: ISA12 (icvn) + GS08 (vriic) + GS01 (fic) -> map file. pyx12 needs an",
           "     exact match, so every GS08 variant has its own row. Both ISA12 versions list every",
           "     GS08, because partners mix a 00501 envelope with 004010 groups and vice versa. -->",
           "<maps>"]
    for icvn in ("00401", "00501"):
        out.append(f'  <version icvn="{icvn}">')
        for ts, ver in MAPS:
            for vriic in VARIANTS[ver]:
                out.append(f'    <map vriic="{vriic}" fic="{FIC[ts]}" abbr="{ts}">'
                           f"{ts}.{ver[2:6]}.xml</map>")
        out.append(f'    <map vriic="" fic="" abbr="X12">x12.control.{icvn}.xml</map>')
        out.append("  </version>")
    out.append("</maps>")
    path.write_text("\n".join(out) + "\n")


if __name__ == "__main__":
    outdir = Path(sys.argv[1])
    import pyx12
    pkg = Path(pyx12.__file__).parent / "map"
    names = load_names(pkg / "dataele.xml", Path(__file__).resolve().parent / "dataele_extra.xml")
    if len(sys.argv) > 2 and sys.argv[2] == "missing":
        have = set(load_names(pkg / "dataele.xml"))
        print(sorted(used_elements() - have, key=lambda s: (len(s), s)))
        sys.exit()
    write_index(outdir / "maps.xml")
    for ts, ver in MAPS:
        fn = outdir / f"{ts}.{ver[2:6]}.xml"
        fn.write_text(build(ts, ver, names))
        print("wrote", fn)
