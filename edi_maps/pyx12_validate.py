"""Validate one X12 interchange against the oms pyx12 maps and return plain findings.

pyx12 4.0.0 is a map-driven validator with sharp edges (reference/edi.md, section 1). This module
keeps them away from callers:

- ``map_path`` replaces pyx12's package data, so :func:`map_dir` builds a cache directory that
  merges pyx12's installed ``codes.xml``, ``dataele.xml`` and control maps with our overlay
  (``maps/dataele_extra.xml``, wider ISA05/ISA07 qualifiers) and our transaction maps.
- The text handed to pyx12 is repaired first: a BOM is dropped, the ISA is padded to its fixed
  106 characters, ISA12 other than 00401/00501 is rewritten to 00401, empty segments (which pyx12
  takes for end of file) and line breaks inside segments are removed, and groups without a map
  are left out (pyx12 aborts the whole file on a missing map). Every repair is listed in
  ``ValidationReport.notes``.
- pyx12's error tree is captured by rebinding ``pyx12.error_handler.err_handler`` under a lock
  and translated into frozen dataclasses shaped like a 997 (AK3/AK4/AK5/AK9). pyx12's own 997
  writer is not used: its envelope is wrong (edi.md).
- pyx12 runs on one core at about 3,000 segments/s, so a large interchange is validated in chunks
  of whole sets by a reused pool of worker processes, plus one run over its envelope alone; the
  merged report equals one run's, and anything unusual is validated in one run instead. As with
  any spawned worker, a program that calls :func:`validate` needs an ``if __name__ == "__main__"`` guard.

Errors: :class:`Pyx12InputError` (an ``edi_maps`` ``ParseError``) when the text is not an interchange at all.
Anything pyx12 raises while validating becomes an :class:`InterchangeFinding`.
"""

from __future__ import annotations

import hashlib
import io
import logging
import multiprocessing
import os
import re
import shutil
import tempfile
import threading
from bisect import bisect_left
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, replace
from importlib.resources import files
from itertools import accumulate, groupby, pairwise
from operator import itemgetter
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import defusedxml.ElementTree as SafeET
import pyx12.error_handler
import pyx12.errors
import pyx12.map_index
import pyx12.params
import pyx12.x12n_document

from .errors import ParseError
from .pyx12_codes import install as _share_codes
from .writer import ISA_WIDTHS

_share_codes()  # one parsed codes.xml per process (see pyx12_codes)

__all__ = [
    "ElementFinding",
    "GroupReport",
    "InterchangeFinding",
    "Pyx12InputError",
    "SegmentFinding",
    "SetReport",
    "ValidationReport",
    "map_dir",
    "validate",
    "validate_outbound",
]

MAPS_SOURCE = Path(__file__).with_name("maps")
# Retail sends 01 (DUNS), 08 (UCC EDI comm ID), 12 (phone), 02 (SCAC), 16 (DUNS+4) as well as
# ZZ, where pyx12's healthcare control maps allow only 01/14/20/27-30/33/ZZ (edi.md gotcha 3).
ISA_QUALIFIERS = ("01", "02", "08", "12", "14", "16", "20", "27", "28", "29", "30", "33", "ZZ")
# pyx12 allows ISA01 00/03 only; X12 I01 also has 01 (UCS) .. 06.
ISA_AUTH_QUALIFIERS = ("00", "01", "02", "03", "04", "05", "06")
PYX12_VERSIONS = ("00401", "00501")
_CACHE_FORMAT = b"oms-pyx12-maps-1"
_PYX12_FILES = ("codes.xml", "dataele.xml", "x12.control.00401.xml", "x12.control.00501.xml")
_KNOWN_FIC = frozenset({"PO", "PC", "PR", "SH", "IN", "IB", "FA"})

logging.getLogger("pyx12").addHandler(logging.NullHandler())


class Pyx12InputError(ParseError):
    """The text handed to pyx12 is not an interchange at all (no ISA at its start)."""


@dataclass(frozen=True)
class ElementFinding:
    """An AK4-style element error: AK401 position[:component], AK402 element, AK403, AK404."""

    segment_id: str
    refdes: str
    position: int
    component: int | None
    element_ref: str | None
    code: str
    bad_value: str | None
    message: str


@dataclass(frozen=True)
class SegmentFinding:
    """An AK3-style segment error; ``codes`` holds AK304 values ("8" when elements are bad)."""

    segment_id: str
    position: int
    loop_id: str | None
    map_loop: str | None
    codes: tuple[str, ...]
    elements: tuple[ElementFinding, ...]
    messages: tuple[str, ...]


@dataclass(frozen=True)
class SetReport:
    """One transaction set (AK2 + AK5): ``ack_code`` is AK501, ``codes`` AK502-AK506."""

    set_id: str
    control_number: str
    ack_code: str
    codes: tuple[str, ...]
    segments: tuple[SegmentFinding, ...]
    elements: tuple[ElementFinding, ...]
    messages: tuple[str, ...]

    @property
    def accepted(self) -> bool:
        return self.ack_code == "A"


@dataclass(frozen=True)
class GroupReport:
    """One functional group (AK1 + AK9); ``supported`` is False when no map matched."""

    functional_id: str
    control_number: str
    version: str
    ack_code: str
    sets_declared: int
    sets_received: int
    sets_accepted: int
    codes: tuple[str, ...]
    sets: tuple[SetReport, ...]
    elements: tuple[ElementFinding, ...]
    messages: tuple[str, ...]
    supported: bool = True


@dataclass(frozen=True)
class InterchangeFinding:
    """An ISA/IEA-level problem: a TA1 note code from pyx12, or one of ours
    (``isa_element``, ``isa_layout``, ``not_x12``, ``pyx12_error``)."""

    code: str
    message: str
    element: ElementFinding | None = None


@dataclass(frozen=True)
class ValidationReport:
    """The result of :func:`validate`; ``validated`` is False when pyx12 did not run."""

    validated: bool
    groups: tuple[GroupReport, ...]
    interchange: tuple[InterchangeFinding, ...]
    notes: tuple[str, ...]

    @property
    def clean(self) -> bool:
        return (
            self.validated
            and not self.interchange
            and all(g.ack_code == "A" and g.supported and not g.elements for g in self.groups)
        )

    def findings(self) -> tuple[str, ...]:
        """Every finding as one readable line, outermost first."""
        return tuple(_describe(self))


# ---------------------------------------------------------------------------- map directory

_map_dir_lock = threading.Lock()
_map_dir_cache: Path | None = None


def map_dir() -> Path:
    """The merged pyx12 map directory, built once per distinct set of inputs and reused."""
    global _map_dir_cache
    with _map_dir_lock:
        if _map_dir_cache is None or not _map_dir_cache.is_dir():
            _map_dir_cache = _build_map_dir()
        return _map_dir_cache


def _inputs() -> list[tuple[str, bytes]]:
    pkg = files("pyx12").joinpath("map")
    out = [(f"pyx12/{name}", pkg.joinpath(name).read_bytes()) for name in _PYX12_FILES]
    out += [(f"oms/{p.name}", p.read_bytes()) for p in sorted(MAPS_SOURCE.glob("*.xml"))]
    return out


def _cache_base() -> Path:
    env = os.environ.get("OMS_PYX12_MAP_CACHE")
    if env:
        return Path(env)
    xdg = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(xdg) / "oms" / "pyx12-maps"


def _build_map_dir() -> Path:
    inputs = _inputs()
    digest = hashlib.sha256(_CACHE_FORMAT)
    for name, data in inputs:
        digest.update(name.encode() + b"\0" + hashlib.sha256(data).digest())
    key = digest.hexdigest()[:16]
    for base in (_cache_base(), Path(tempfile.gettempdir()) / f"oms-pyx12-maps-{os.getuid()}"):
        final = base / key
        if final.is_dir():
            return final
        try:
            base.mkdir(parents=True, exist_ok=True)
            work = Path(tempfile.mkdtemp(prefix=".build-", dir=base))
        except OSError:
            continue
        try:
            _write_map_dir(work, dict(inputs))
            os.rename(work, final)
        except OSError:
            shutil.rmtree(work, ignore_errors=True)
            if not final.is_dir():
                raise
        return final
    raise OSError("no writable cache directory for the pyx12 maps")


def _write_map_dir(work: Path, inputs: dict[str, bytes]) -> None:
    for name, data in inputs.items():
        origin, base = name.split("/", 1)
        if origin == "oms" and base != "dataele_extra.xml":
            (work / base).write_bytes(data)
    (work / "codes.xml").write_bytes(inputs["pyx12/codes.xml"])
    dataele = SafeET.fromstring(inputs["pyx12/dataele.xml"])
    extra = {e.get("ele_num"): e for e in SafeET.fromstring(inputs["oms/dataele_extra.xml"])}
    for old in [e for e in dataele if e.get("ele_num") in extra]:
        dataele.remove(old)
    dataele.extend(extra.values())
    ElementTree.ElementTree(dataele).write(work / "dataele.xml", encoding="utf-8")
    for version in PYX12_VERSIONS:
        name = f"x12.control.{version}.xml"
        root = SafeET.fromstring(inputs[f"pyx12/{name}"])
        for elem in root.iter("element"):
            wanted = {"ISA01": ISA_AUTH_QUALIFIERS, "ISA05": ISA_QUALIFIERS, "ISA07": ISA_QUALIFIERS}
            codes = elem.find("valid_codes")
            if elem.get("xid") in wanted and codes is not None:
                codes.clear()
                for code in wanted[str(elem.get("xid"))]:
                    ElementTree.SubElement(codes, "code").text = code
        ElementTree.ElementTree(root).write(work / name, encoding="utf-8")


# ------------------------------------------------------------------------- text repairs


@dataclass
class _Prepared:
    text: str
    notes: list[str]
    unsupported: list[GroupReport]
    order: list[int | None]  # per original group: index among validated groups, None if dropped
    problems: list[InterchangeFinding]
    isa: str  # ``text`` is isa + term + term.join(segments) + term
    term: str
    segments: list[str]


def _split_isa(text: str) -> tuple[list[str], str, str]:
    """ISA fields (index 0 = "ISA"), segment terminator, and the rest after the terminator."""
    if not text.startswith("ISA") or len(text) < 4:
        raise Pyx12InputError("text does not start with an ISA segment")
    sep = text[3]
    positions = [m.start() for m in re.finditer(re.escape(sep), text[:400])][:16]
    if len(positions) < 16 or len(text) < positions[-1] + 3:
        raise Pyx12InputError("the ISA segment has fewer than 16 elements")
    last = positions[-1]
    fields = [text[a + 1 : b] for a, b in zip([-1, *positions], positions, strict=False)]
    fields[0] = "ISA"
    fields.append(text[last + 1])
    return fields, text[last + 2], text[last + 3 :]


def _prepare(text: str, index: Any) -> _Prepared:
    notes: list[str] = []
    problems: list[InterchangeFinding] = []
    if text.startswith(("\ufeff", "\xef\xbb\xbf")):
        text = text.lstrip("\ufeff").removeprefix("\xef\xbb\xbf")
        notes.append("removed a byte-order mark")
    text = text.lstrip()
    fields, term, rest = _split_isa(text)
    sep, comp = text[3], fields[16]
    empty = broken = 0
    if term not in "\r\n" and any("\r" in f or "\n" in f for f in fields):
        fields = [f.replace("\r", "").replace("\n", "") for f in fields]
        broken += 1
    padded = False
    for i, width in enumerate(ISA_WIDTHS, 1):
        value = fields[i]
        if len(value) < width and i in (2, 4, 6, 8):
            fields[i], padded = value.ljust(width), True
        elif len(value) < width and i == 13 and value.isdigit():
            fields[i], padded = value.zfill(width), True
        elif len(value) != width and i != 12:
            problems.append(
                InterchangeFinding("isa_layout", f"ISA{i:02d} {value!r} is not {width} wide")
            )
    if padded:
        notes.append("padded ISA elements to the fixed 106-character layout")
    icvn = fields[12]
    if icvn not in PYX12_VERSIONS:
        notes.append(f"ISA12 {icvn!r} rewritten to 00401 for pyx12, which reads only 00401/00501")
        if not fields[11].isalnum():
            notes.append(f"ISA11 repetition separator {fields[11]!r} rewritten to 'U'")
            fields[11] = "U"
        fields[12] = icvn = "00401"
    parts = rest.split(term)
    if parts and not parts[-1].strip().strip("\x1a"):
        parts.pop()  # whitespace or a DOS end-of-file mark after the last terminator is framing
    segments: list[str] = []
    for raw in parts:
        seg = raw.lstrip(" \t\r\n").rstrip("\r\n")
        if term not in "\r\n" and ("\r" in seg or "\n" in seg):
            seg, broken = seg.replace("\r", "").replace("\n", ""), broken + 1
        if seg:
            segments.append(seg)
        else:
            empty += 1
    if empty:
        notes.append(f"removed {empty} empty segment(s), which pyx12 reads as end of file")
    if broken:
        notes.append(f"removed line breaks inside {broken} segment(s)")
    kept, unsupported, order = _drop_unmapped(segments, sep, icvn, index, notes)
    isa = sep.join(fields[:16]) + sep + comp
    text = isa + term + term.join(kept) + term
    return _Prepared(text, notes, unsupported, order, problems, isa, term, kept)


def _drop_unmapped(
    segments: list[str], sep: str, icvn: str, index: Any, notes: list[str]
) -> tuple[list[str], list[GroupReport], list[int | None]]:
    kept: list[str] = []
    unsupported: list[GroupReport] = []
    order: list[int | None] = []
    dropping = False
    validated = 0
    for seg in segments:
        els = seg.split(sep)
        if els[0] == "GS":
            dropping = index.get_filename(icvn, _get(els, 8), _get(els, 1)) is None
            if dropping:
                order.append(None)
                unsupported.append(_unsupported_group(els, icvn))
                continue
            order.append(validated)
            validated += 1
        elif dropping:
            if els[0] == "ST":
                ack = unsupported[-1]
                unsupported[-1] = replace(ack, sets_received=ack.sets_received + 1)
            if els[0] == "GE":
                unsupported[-1] = replace(unsupported[-1], sets_declared=_int(_get(els, 1)))
                dropping = False
                continue
            if els[0] != "IEA":
                continue
            dropping = False
        if els[0] == "IEA" and len(unsupported) and _int(_get(els, 1)) >= 0:
            els[1] = str(_int(els[1]) - len(unsupported))
            notes.append(f"IEA01 lowered by {len(unsupported)} for the groups left out")
            seg = sep.join(els)
        kept.append(seg)
    for ack in unsupported:
        notes.append(f"group {ack.control_number} left out: {ack.messages[0]}")
    return kept, unsupported, order


def _unsupported_group(gs: list[str], icvn: str) -> GroupReport:
    fic, vriic = _get(gs, 1), _get(gs, 8)
    code = "2" if fic in _KNOWN_FIC else "1"
    msg = f"Map not found: ISA12={icvn}, GS01={fic!r}, GS08={vriic!r}"
    return GroupReport(fic, _get(gs, 6), vriic, "R", 0, 0, 0, (code,), (), (), (msg,), False)


def _get(els: list[str], i: int) -> str:
    return els[i].strip() if len(els) > i else ""


def _int(value: str | None) -> int:
    try:
        return int((value or "").strip())
    except ValueError:
        return -1


# ------------------------------------------------------------------- running pyx12

# x12n_document builds its err_handler from the module attribute and never returns it, so the
# attribute is rebound for the length of one run; the lock keeps our runs from interleaving.
_patch_lock = threading.Lock()


class _Capture(pyx12.error_handler.err_handler):
    """pyx12's error handler, also remembering which map node each error node came from."""

    def __init__(self) -> None:
        super().__init__()
        self.element_origin: dict[int, tuple[str, str]] = {}
        self.segment_loop: dict[int, str | None] = {}

    def add_seg(self, map_node: Any, seg_data: Any, seg_count: int, cur_line: int, ls_id: Any) -> None:
        super().add_seg(map_node, seg_data, seg_count, cur_line, ls_id)
        parent = getattr(map_node, "parent", None)
        self.segment_loop[id(self.cur_seg_node)] = getattr(parent, "id", None)

    def add_ele(self, map_node: Any) -> None:
        super().add_ele(map_node)
        seg = map_node.get_parent_segment()
        self.element_origin[id(self.cur_ele_node)] = (str(seg.id), str(map_node.refdes))


def _run_pyx12(text: str, path: Path, quiet: bool = False) -> tuple[_Capture | None, InterchangeFinding | None]:
    """One pyx12 run; ``quiet`` keeps pyx12's log lines for the errors it finds out of the log."""
    captured: list[_Capture] = []

    class _Recorder(_Capture):
        def __init__(self) -> None:
            super().__init__()
            captured.append(self)

    problem: InterchangeFinding | None = None
    pyx12_log = logging.getLogger("pyx12")
    with _patch_lock:
        original, level = pyx12.error_handler.err_handler, pyx12_log.level
        pyx12.error_handler.err_handler = _Recorder
        if quiet:
            pyx12_log.setLevel(logging.CRITICAL + 1)
        try:
            pyx12.x12n_document.x12n_document(
                param=pyx12.params.ParamsBase(), src_file=io.StringIO(text), fd_997=None,
                fd_html=None, fd_xmldoc=None, fd_json=None, map_path=str(path),
            )  # fmt: skip
        except pyx12.errors.X12Error as exc:
            problem = InterchangeFinding("not_x12", f"pyx12 could not read the interchange: {exc}")
        except Exception as exc:  # noqa: BLE001 - a pyx12 crash is a finding, never our crash
            problem = InterchangeFinding("pyx12_error", f"pyx12 failed: {type(exc).__name__}: {exc}")
        finally:
            pyx12.error_handler.err_handler = original
            pyx12_log.setLevel(level)
    if problem is None and not (captured and captured[0].children):
        # x12n_document returns False without a word when its reader refuses the ISA
        problem = InterchangeFinding("not_x12", "pyx12 could not read the interchange")
    return (captured[0] if captured else None), problem


# ---------------------------------------------------------------------- translation


def _elements(errh: _Capture, nodes: list[Any]) -> Iterator[ElementFinding]:
    for node in nodes:
        seg_id, refdes = errh.element_origin.get(id(node), ("", ""))
        for code, message, bad in node.errors:
            yield ElementFinding(
                seg_id, refdes, int(node.ele_pos), node.subele_pos, node.ele_ref_num,
                str(code), bad, str(message),
            )  # fmt: skip


def _segment(errh: _Capture, node: Any) -> SegmentFinding:
    elements = tuple(_elements(errh, node.elements))
    codes = [str(c) for c, _m, _v in node.errors]
    codes = ["8" if c == "SEG1" else c for c in codes]
    if elements and "8" not in codes:
        codes.append("8")
    messages = tuple(str(m) for _c, m, _v in node.errors) + tuple(e.message for e in elements)
    return SegmentFinding(
        str(node.seg_id), int(node.seg_count), node.ls_id or None,
        errh.segment_loop.get(id(node)), tuple(dict.fromkeys(codes)), elements, messages,
    )  # fmt: skip


_SET_ELEMENT_CODES = {("ST", 1): "6", ("ST", 2): "7", ("SE", 1): "4", ("SE", 2): "3"}
_GROUP_ELEMENT_CODES = {("GS", 6): "6", ("GS", 8): "2", ("GE", 1): "5", ("GE", 2): "6"}


def _set(errh: _Capture, node: Any) -> SetReport:
    segments = tuple(_segment(errh, s) for s in node.children)
    elements = tuple(_elements(errh, node.elements))
    codes = [str(c) for c, _m in node.errors]
    if segments:
        codes.append("5")
    codes += [_SET_ELEMENT_CODES.get((e.segment_id, e.position), "5") for e in elements]
    codes = sorted(set(codes), key=int)
    messages = tuple(str(m) for _c, m in node.errors) + tuple(e.message for e in elements)
    return SetReport(
        str(node.trn_set_id or ""), str(node.trn_set_control_num or "").strip(),
        "R" if codes or not node.is_closed() else "A", tuple(codes), segments, elements, messages,
    )  # fmt: skip


def _group(errh: _Capture, node: Any, sets: tuple[SetReport, ...] | None = None) -> GroupReport:
    """The group's AK9; ``sets`` replaces the node's own sets (the parallel path's envelope run)."""
    if sets is None:
        sets = tuple(_set(errh, s) for s in node.children)
    elements = tuple(_elements(errh, node.elements))
    codes = [str(c) for c, _m in node.errors if str(c).isdigit()]
    codes += [
        _GROUP_ELEMENT_CODES[(e.segment_id, e.position)]
        for e in elements
        if (e.segment_id, e.position) in _GROUP_ELEMENT_CODES
    ]
    codes = sorted(set(codes), key=int)
    accepted = sum(1 for s in sets if s.accepted)
    if codes or (sets and not accepted) or not node.is_closed():
        ack = "R"
    elif accepted < len(sets):
        ack = "P"
    else:
        ack = "E" if elements else "A"
    messages = tuple(str(m) for _c, m in node.errors) + tuple(e.message for e in elements)
    return GroupReport(
        str(node.fic or ""), str(node.gs_control_num or "").strip(), str(node.vriic or ""),
        ack, int(node.st_count_orig or 0), len(sets), accepted, tuple(codes), sets, elements,
        messages,
    )  # fmt: skip


def _interchange(
    errh: _Capture, sets: list[tuple[SetReport, ...]] | None = None
) -> tuple[list[InterchangeFinding], list[GroupReport]]:
    findings: list[InterchangeFinding] = []
    groups: list[GroupReport] = []
    for isa in errh.children:
        findings += [InterchangeFinding(str(c), str(m)) for c, m in isa.errors]
        for e in _elements(errh, isa.elements):
            # pyx12 checks ISA16 against the data character set; any separator is allowed there.
            if not (e.refdes == "ISA16" and e.code == "6"):
                findings.append(InterchangeFinding("isa_element", e.message, e))
        for g in isa.children:
            groups.append(_group(errh, g, None if sets is None else sets[len(groups)]))
    return findings, groups


# ------------------------------------------------------------------- parallel validation

# pyx12 is pure Python (about 3,000 segments/s on one core), so a large interchange is cut into
# chunks of whole transaction sets, each chunk a complete interchange of its own (same ISA, the
# GS of each group it touches, a GE and IEA counting only what it holds), and the chunks run in
# worker processes. Each pyx12 run spends about 0.1 s loading maps, the parallel path adds a run
# over the envelope, and the pool's start costs about 1 s once per process. With the pool warm,
# two workers break even near 1,000 segments; from 4,000 they save a quarter or more (1.3 s to
# 0.9 s on 2 cores), and everyday files, far smaller, never start the pool.
PARALLEL_SEGMENTS = 4_000

_log = logging.getLogger(__name__)
_ENVELOPE_IDS = frozenset({"ISA", "IEA", "GS", "GE", "ST", "SE"})
_pool_lock = threading.Lock()
_pool: ProcessPoolExecutor | None = None

_Group = tuple[int, tuple[tuple[int, int], ...]]  # GS index, (ST index, SE index) per set
_Part = list[tuple[int, int, int]]  # (group, ST index, SE index) per set of one chunk


def _cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _executor() -> ProcessPoolExecutor:
    """The module's worker pool, started on first use and kept for later calls. Workers come
    from a fork server (or are spawned), never forked from this process: the gateway runs threads."""
    global _pool
    with _pool_lock:
        if _pool is None:
            methods = multiprocessing.get_all_start_methods()
            context = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
            _pool = ProcessPoolExecutor(max(2, _cpus()), mp_context=context)
        return _pool


def _discard(pool: ProcessPoolExecutor) -> None:
    global _pool
    with _pool_lock:
        if _pool is pool:
            _pool = None
    pool.shutdown(wait=False, cancel_futures=True)


def _layout(segments: list[str], sep: str) -> list[_Group] | None:
    """Where the groups and sets are, or None when chunks could not reproduce one run exactly:
    anything but ISA (GS (ST .. SE)* GE)+ IEA, or an ST02 repeated within a group (pyx12 sees
    the repeat, AK5 23, only when both sets are in the same run)."""
    ids = [seg.split(sep, 1)[0] for seg in segments]
    groups: list[_Group] = []
    i, n = 0, len(segments)
    while i < n and ids[i] == "GS":
        gs, sets, seen = i, [], set()
        i += 1
        while i < n and ids[i] == "ST":
            st, control = i, _get(segments[i].split(sep), 2)
            if control in seen:
                return None
            seen.add(control)
            i += 1
            while i < n and ids[i] not in _ENVELOPE_IDS:
                i += 1
            if i == n or ids[i] != "SE":
                return None
            sets.append((st, i))
            i += 1
        if i == n or ids[i] != "GE":
            return None
        groups.append((gs, tuple(sets)))
        i += 1
    return groups if groups and i == n - 1 and ids[i] == "IEA" else None


def _parts(groups: list[_Group], workers: int) -> list[_Part]:
    """Consecutive runs of sets, one per worker, balanced by segment count."""
    sets = [(g, st, se) for g, (_gs, spans) in enumerate(groups) for st, se in spans]
    total = list(accumulate(se - st + 1 for _g, st, se in sets))
    n = min(workers, len(sets))
    bounds = [0]
    for k in range(1, n):
        goal = total[-1] * k / n
        end = bisect_left(total, goal) + 1
        if end > 1 and goal - total[end - 2] < total[end - 1] - goal:
            end -= 1
        bounds.append(min(max(end, bounds[-1] + 1), len(sets) - (n - k)))
    bounds.append(len(sets))
    return [sets[a:b] for a, b in pairwise(bounds)]


def _chunk(prepared: _Prepared, groups: list[_Group], part: _Part) -> tuple[str, list[tuple[int, int]]]:
    """One chunk as a complete interchange, and the (group, set count) pairs it holds."""
    segs, sep = prepared.segments, prepared.isa[3]
    out: list[str] = []
    held: list[tuple[int, int]] = []
    for g, members in groupby(part, key=itemgetter(0)):
        spans = [(st, se) for _g, st, se in members]
        gs = segs[groups[g][0]]
        out.append(gs)
        for st, se in spans:
            out += segs[st : se + 1]
        out.append(sep.join(("GE", str(len(spans)), _get(gs.split(sep), 6))))
        held.append((g, len(spans)))
    out.append(sep.join(("IEA", str(len(held)), prepared.isa.split(sep)[13])))
    term = prepared.term
    return prepared.isa + term + term.join(out) + term, held


def _envelope(prepared: _Prepared, groups: list[_Group]) -> str:
    """The whole interchange with every set's body left out: its ISA, GS, GE and IEA findings
    (counts, control numbers, repeated GS06) are those of the full text."""
    segs, out, pos = prepared.segments, [], 0
    for _gs, spans in groups:
        for st, se in spans:
            out += segs[pos : st + 1]
            pos = se
    out += segs[pos:]
    return prepared.isa + prepared.term + prepared.term.join(out) + prepared.term


def _validate_chunk(text: str, path: str) -> tuple[list[tuple[SetReport, ...]], InterchangeFinding | None]:
    """In a worker: the set reports of each group of one chunk."""
    errh, problem = _run_pyx12(text, Path(path))
    groups = _interchange(errh)[1] if errh is not None else []
    return [g.sets for g in groups], problem


def _validate_parallel(
    prepared: _Prepared, path: Path, workers: int
) -> tuple[list[InterchangeFinding], list[GroupReport]] | None:
    """What one pyx12 run over ``prepared.text`` finds, from chunks run in the worker pool and
    one envelope-only run here; None whenever that could differ (the caller runs it whole)."""
    groups = _layout(prepared.segments, prepared.isa[3])
    if groups is None or sum(len(spans) for _gs, spans in groups) < 2:
        _log.debug("pyx12: one run: fewer than two sets, or not safe to split")
        return None
    chunks = [_chunk(prepared, groups, part) for part in _parts(groups, workers)]
    pool: ProcessPoolExecutor | None = None
    try:
        pool = _executor()
        futures = [pool.submit(_validate_chunk, text, str(path)) for text, _held in chunks]
        # its sets are bare ST/SE pairs, whose errors pyx12 would log and the merge drops
        errh, problem = _run_pyx12(_envelope(prepared, groups), path, quiet=True)
        results = [f.result() for f in futures]
    except Exception as exc:  # noqa: BLE001 - a lost worker must cost time, never findings
        _log.warning("pyx12: parallel validation failed (%s: %s); one run instead", type(exc).__name__, exc)
        if isinstance(exc, BrokenProcessPool) and pool is not None:
            _discard(pool)
        return None
    sets: list[tuple[SetReport, ...]] = [() for _ in groups]
    for (_text, held), (chunk_sets, chunk_problem) in zip(chunks, results, strict=True):
        if chunk_problem is not None or [len(s) for s in chunk_sets] != [n for _g, n in held]:
            _log.warning("pyx12: a chunk did not validate as expected; one run instead")
            return None
        for (g, _n), group_sets in zip(held, chunk_sets, strict=True):
            sets[g] += group_sets
    if errh is None or problem is not None or sum(len(i.children) for i in errh.children) != len(groups):
        _log.warning("pyx12: the envelope run did not match the chunks; one run instead")
        return None
    _log.debug("pyx12: %d segments validated in %d chunks", len(prepared.segments) + 1, len(chunks))
    return _interchange(errh, sets)


# --------------------------------------------------------------------------- public API


def validate(
    text: str, *, workers: int | None = None, parallel_from: int = PARALLEL_SEGMENTS
) -> ValidationReport:
    """Validate one interchange (latin-1 decoded text starting with "ISA") with pyx12.

    An interchange of at least ``parallel_from`` segments (ISA to IEA) and more than one set is
    validated in ``workers`` processes (default: the usable CPUs; 1 validates in this process);
    the report is the same as from one run.

    Never raises for bad X12 content; raises :class:`Pyx12InputError` only when the text has no
    readable ISA segment at its start.
    """
    path = map_dir()
    index = pyx12.map_index.map_index(str(path))
    prepared = _prepare(text, index)
    notes = tuple(prepared.notes)
    if prepared.problems:
        return ValidationReport(False, tuple(prepared.unsupported), tuple(prepared.problems), notes)
    findings: list[InterchangeFinding] = []
    validated: list[GroupReport] = []
    ran = any(i is not None for i in prepared.order) or not prepared.order
    if ran:
        workers = _cpus() if workers is None else workers
        parallel = None
        if workers > 1 and len(prepared.segments) + 1 >= parallel_from:
            parallel = _validate_parallel(prepared, path, workers)
        if parallel is not None:
            findings, validated = parallel
        else:
            errh, problem = _run_pyx12(prepared.text, path)
            if errh is not None:
                findings, validated = _interchange(errh)
            if problem is not None:
                findings.append(problem)
                ran = False
    groups: list[GroupReport] = []
    dropped = iter(prepared.unsupported)
    for i in prepared.order:
        if i is None:
            groups.append(next(dropped))
        elif i < len(validated):
            groups.append(validated[i])
    groups += validated[len([i for i in prepared.order if i is not None]) :]
    return ValidationReport(ran, tuple(groups), tuple(findings), notes)


def validate_outbound(text: str) -> tuple[bool, tuple[str, ...]]:
    """Check a document we generated: (True, ()) only if pyx12 finds nothing and no repair
    of the text was needed."""
    try:
        report = validate(text)
    except Pyx12InputError as exc:
        return False, (str(exc),)
    lines = report.findings() + tuple(f"repair needed: {n}" for n in report.notes)
    return report.clean and not report.notes, lines


def _describe(report: ValidationReport) -> Iterator[str]:
    for f in report.interchange:
        yield f"interchange {f.code}: {f.message}"
    for g in report.groups:
        where = f"group {g.functional_id} {g.control_number}"
        if g.ack_code != "A" or g.codes or g.elements:
            yield " ".join([f"{where}: AK9 {g.ack_code}", ",".join(g.codes), *g.messages]).strip()
        for s in g.sets:
            if s.accepted:
                continue
            yield f"{where} set {s.set_id} {s.control_number}: AK5 {s.ack_code} {','.join(s.codes)}"
            for m in s.messages:
                yield f"{where} set {s.control_number}: {m}"
            for seg in s.segments:
                yield (
                    f"{where} set {s.control_number} segment {seg.segment_id} at {seg.position}: "
                    f"AK3 {','.join(seg.codes)} {'; '.join(seg.messages)}"
                )
