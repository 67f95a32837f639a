"""Small X12 inputs for the tests, built by hand (not with the writer under test)."""

from __future__ import annotations

__all__ = ["isa", "order", "change", "interchange"]


def isa(
    e: str = "*",
    comp: str = ">",
    term: str = "~",
    *,
    version: str = "00401",
    control: str = "000000123",
    isa11: str = "U",
    ack: str = "0",
    usage: str = "P",
    sender: str = "SENDER",
    receiver: str = "RECEIVER",
    date: str = "260115",
    time: str = "0930",
) -> str:
    """A 106-character ISA, terminator included."""
    fields = [
        "00", " " * 10, "00", " " * 10, "ZZ", sender.ljust(15), "ZZ", receiver.ljust(15),
        date, time, isa11, version, control, ack, usage,
    ]
    return "ISA" + e + e.join(fields) + e + comp + term


def order(po: str, lines: int, *, st02: str = "0001", e: str = "*", term: str = "~", se01: int | None = None) -> str:
    """An 850 with a ship-to and `lines` PO1 lines; SE01 counted unless given."""
    body = [
        f"BEG{e}00{e}SA{e}{po}{e}{e}20260115",
        f"N1{e}ST{e}MAIN STORE{e}92{e}0042",
        *(f"PO1{e}{i}{e}{i + 1}{e}EA{e}9.99{e}{e}VP{e}SKU{i}" for i in range(1, lines + 1)),
        f"CTT{e}{lines}",
    ]
    count = len(body) + 2 if se01 is None else se01
    segs = [f"ST{e}850{e}{st02}", *body, f"SE{e}{count}{e}{st02}"]
    return "".join(s + term for s in segs)


def change(po: str, *pocs: str, purpose: str = "04", st02: str = "0001", e: str = "*", term: str = "~") -> str:
    """An 860 for `po` with the given POC segments (elements after "POC*"), counts right."""
    body = [f"BCH{e}{purpose}{e}SA{e}{po}{e}{e}{e}20260115", *(f"POC{e}{p}" for p in pocs)]
    if pocs:
        body.append(f"CTT{e}{len(pocs)}")
    segs = [f"ST{e}860{e}{st02}", *body, f"SE{e}{len(body) + 2}{e}{st02}"]
    return "".join(s + term for s in segs)


def interchange(*sets: str, e: str = "*", comp: str = ">", term: str = "~", gs06: str = "7", control: str = "000000123",
                functional_id: str = "PO", **isa_kw: str) -> str:
    """ISA, one GS with the given sets, GE and IEA, all counts right."""
    head = isa(e, comp, term, control=control, **isa_kw)
    gs = f"GS{e}{functional_id}{e}SENDER{e}RECEIVER{e}20260115{e}0930{e}{gs06}{e}X{e}004010{term}"
    ge = f"GE{e}{len(sets)}{e}{gs06}{term}"
    iea = f"IEA{e}1{e}{control}{term}"
    return head + gs + "".join(sets) + ge + iea
