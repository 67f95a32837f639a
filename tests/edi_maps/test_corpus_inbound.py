"""Every file of the shared X12 corpus through the inbound path, as the SFTP poller takes it in:
nothing raises, the bytes are kept as they came, and a file whose envelope is broken is refused
or answered with errors, never taken in silently.

Each file gets a store of its own (a copy of one migrated template with the partner in it):
many corpus files share an interchange key (sender, receiver, ISA13) with another file, and in
a shared store every file after the first would only be a duplicate delivery.

The corpus lives outside the repository (../shared/corpus/x12). Without it these tests skip,
unless OMS_REQUIRE_SERVICES=1 (CI), where they fail.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy import select

from edi_maps import check, errors, read
from edi_maps.inbound import InboundResult, receive_x12
from store import Store, open_store
from store.catalog import add_partner
from store.documents import FINAL_STATES, errors_of
from store.models import Document, OutboxMessage
from tests.edi_maps.test_corpus import (
    CORPUS,
    FILES,
    INDEX_ERRATA,
    _clauses,
    _index,
    _need_corpus,
)

PARTNER = "corpus"
# Files whose index says the envelope is broken, less those where every clause is an erratum
# of the index itself (test_corpus.INDEX_ERRATA: the envelope is in fact sound).
BROKEN = [
    n for n in FILES
    if _index()[n]["envelope"] != "OK"
    and any((n, element) not in INDEX_ERRATA for element, _ in _clauses(_index()[n]["envelope"]))
]


@dataclass
class Walked:
    """One corpus file after receive_x12, in its own store."""

    url: str
    payload: bytes
    result: InboundResult

    def store(self) -> Store:
        return open_store(self.url)


@pytest.fixture(scope="module")
def corpus_template(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite store holding the trading partner every file is received for."""
    path = tmp_path_factory.mktemp("corpus") / "template.db"
    shutil.copy(sqlite_template, path)
    store = open_store(f"sqlite:///{path}")
    add_partner(store, PARTNER, "Corpus partner", isa_qualifier="ZZ", isa_id="CORPUS", gs_id="CORPUS",
                our_isa_qualifier="ZZ", our_isa_id="WESELL", our_gs_id="WESELL")
    store.dispose()
    return path


@pytest.fixture(scope="module")
def walk(corpus_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[str], Walked]]:
    """receive_x12 on one corpus file, once per module (each test of the file reads the result)."""
    root = tmp_path_factory.mktemp("walked")
    done: dict[str, Walked] = {}

    def _walk(name: str) -> Walked:
        _need_corpus()
        if name not in done:
            path = root / f"{name}.db"
            shutil.copy(corpus_template, path)
            url = f"sqlite:///{path}"
            payload = (CORPUS / name).read_bytes()
            store = open_store(url)
            try:
                result = receive_x12(store, payload, source=f"corpus/x12/{name}", partner=PARTNER)
            finally:
                store.dispose()
            done[name] = Walked(url, payload, result)
        return done[name]

    yield _walk


@dataclass
class _Answer:
    """What the acknowledgments queued for one received interchange say."""

    ta1: list[str] = field(default_factory=list)  # TA104
    ak9: dict[str, str] = field(default_factory=dict)  # GS06 -> AK901
    ak5: dict[tuple[str, str], list[str]] = field(default_factory=dict)  # (GS06, ST02) -> AK501s


def _answers(w: Walked) -> dict[int, _Answer]:
    """The queued 997/TA1 for the file, by the index of the interchange they answer."""
    store = w.store()
    try:
        with store.read() as conn:
            rows = conn.execute(
                select(OutboxMessage.idempotency_key, OutboxMessage.payload)
                .where(OutboxMessage.kind.in_(("edi_997", "edi_ta1")),
                       OutboxMessage.idempotency_key.like(f"edi_%:{w.result.document_id}:%"))
            ).all()
    finally:
        store.dispose()
    out: dict[int, _Answer] = {}
    for key, payload in rows:
        answer = out.setdefault(int(key.rsplit(":", 1)[1]), _Answer())
        for ic in read(str(payload["data"]).encode("latin-1")).interchanges:
            answer.ta1 += [ta1.get(4) for ta1 in ic.ta1]
            for ts in ic.sets():
                group = st02 = ""
                for seg in ts.segments:
                    if seg.tag == "AK1":
                        group = seg.get(2)
                    elif seg.tag == "AK2":
                        st02 = seg.get(2)
                    elif seg.tag == "AK5":
                        answer.ak5.setdefault((group, st02), []).append(seg.get(1))
                    elif seg.tag == "AK9":
                        answer.ak9[group] = seg.get(1)
    return out


@pytest.mark.parametrize("name", FILES)
def test_file_is_taken_in_without_raising_and_kept_byte_for_byte(walk: Callable[[str], Walked], name: str) -> None:
    w = walk(name)  # receive_x12 raising anything fails here
    assert w.result.state in FINAL_STATES, f"{name}: left in state {w.result.state!r}"
    store = w.store()
    try:
        with store.read() as conn:
            doc = conn.execute(select(Document).where(Document.id == w.result.document_id)).one()
    finally:
        store.dispose()
    assert doc.payload == w.payload and doc.size == len(w.payload)
    assert doc.state == w.result.state


@pytest.mark.parametrize("name", BROKEN)
def test_a_broken_envelope_is_refused_or_answered_with_errors(walk: Callable[[str], Walked], name: str) -> None:
    w = walk(name)
    evidence = []
    for i, answer in _answers(w).items():
        evidence += [f"interchange {i}: TA1 {code}" for code in answer.ta1 if code in ("R", "E")]
        evidence += [f"interchange {i}: AK9 {code} for group {g}" for g, code in answer.ak9.items() if code in ("R", "E")]
        evidence += [f"interchange {i}: AK5 {code} for set {s}" for (_, s), codes in answer.ak5.items()
                     for code in codes if code in ("R", "E")]
    if w.result.state == "rejected":
        store = w.store()
        try:
            with store.read() as conn:
                problems = errors_of(conn, w.result.document_id)
                reason = conn.execute(select(Document.reject_reason)
                                      .where(Document.id == w.result.document_id)).scalar_one()
        finally:
            store.dispose()
        assert reason and problems, f"{name}: rejected without a reason"
        assert all(p.reason.strip() and p.reason.isprintable() for p in problems), problems
        evidence.append(f"document rejected: {reason}")
    assert evidence, f"{name}: index says {_index()[name]['envelope']!r}, yet nothing refused it or said so"


@pytest.mark.parametrize(
    "name",
    FILES,
)
def test_a_set_refused_for_its_envelope_is_answered_rejected(walk: Callable[[str], Walked], name: str) -> None:
    """The partner and the store agree: a set the store refused because its envelope has errors
    is not acknowledged to the partner as accepted (it gets TA1 R, AK9 R or AK5 R)."""
    w = walk(name)
    tm = w.result.transmission
    if tm is None:  # not readable at all: nothing to acknowledge
        return
    found = errors(check(tm))
    answers = _answers(w)
    told_accepted = []
    for i, (ic, outcome) in enumerate(zip(tm.interchanges, w.result.interchanges, strict=True)):
        keys = [(g.control_number, ts.control_number) for g in ic.groups for ts in g.sets]
        statuses = {(s.group, s.control_number): s.status for s in outcome.sets}
        answer = answers.get(i)
        for gi, g in enumerate(ic.groups):
            for si, ts in enumerate(g.sets):
                key = (g.control_number, ts.control_number)
                if keys.count(key) > 1 or statuses.get(key) != "rejected":
                    continue  # a repeated ST02 is answered AK5 R 23 on its own; see test_ack
                if not any(f.interchange == i and f.group in (None, gi) and f.transaction_set in (None, si)
                           for f in found):
                    continue  # refused for its content (mapping), not its envelope
                if answer is None or key not in answer.ak5:
                    continue  # not acknowledged at all (acknowledgments are not acknowledged)
                if "R" in answer.ta1 or answer.ak9.get(g.control_number) == "R" or "R" in answer.ak5[key]:
                    continue
                told_accepted.append(f"interchange {i} group {key[0]} set {key[1]}: TA1 {answer.ta1}, "
                                     f"AK9 {answer.ak9.get(g.control_number)}, AK5 {answer.ak5[key]}")
    assert not told_accepted, f"{name}: refused by the store but acknowledged as accepted: {told_accepted}"


def test_the_walk_covers_the_corpus_and_refuses_every_broken_file(walk: Callable[[str], Walked]) -> None:
    _need_corpus()
    assert len(FILES) >= 100 and len(BROKEN) >= 10
    states = {name: walk(name).result.state for name in FILES}
    assert all(states[n] != "accepted" for n in BROKEN), {n: states[n] for n in BROKEN}
    assert sum(s == "accepted" for s in states.values()) >= len(FILES) // 2
