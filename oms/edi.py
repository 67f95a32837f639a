"""`oms edi check | show | ingest`: X12 files for an EDI analyst at the terminal."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import click

from edi_maps import envelope, interchange_texts, read
from edi_maps.ack import acknowledge
from edi_maps.errors import ParseError
from edi_maps.findings import Severity
from edi_maps.names import element_name, segment_name
from edi_maps.pyx12_validate import Pyx12InputError, validate
from edi_maps.segments import Segment
from store.types import utcnow

__all__ = ["edi"]


@click.group()
def edi() -> None:
    """Read, check and take in X12 files."""


def _load(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise click.ClickException(f"cannot read {path}: {exc.strerror or exc}") from exc


@edi.command(name="check")
@click.argument("paths", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--ack/--no-ack", "show_ack", default=True, help="Print the 997/TA1 we would send back.")
def check_cmd(paths: tuple[Path, ...], show_ack: bool) -> None:
    """Read and validate X12 files without storing anything; exit 1 if any has errors."""
    bad = False
    for path in paths:
        bad |= not _check_one(path, _load(path), show_ack)
    sys.exit(1 if bad else 0)


def _check_one(path: Path, data: bytes, show_ack: bool) -> bool:
    try:
        tm = read(data)
    except ParseError as exc:
        click.echo(f"{path}: not X12: {exc}")
        return False
    findings = envelope.check(tm)
    ok = envelope.is_sound(findings)
    click.echo(f"{path}: {len(tm.interchanges)} interchange(s), {tm.segment_count()} segments")
    for f in findings:
        if f.interchange is None:
            click.echo(f"  {f.severity.value}: {f.message}")
    for i, (ic, ic_text) in enumerate(zip(tm.interchanges, interchange_texts(data, tm))):
        click.echo(
            f"  ISA {ic.control_number}  {ic.sender_qualifier}/{ic.sender_id} -> {ic.receiver_qualifier}/{ic.receiver_id}"
            f"  version {ic.version}  {'test' if ic.usage == 'T' else 'production'}"
        )
        for f in findings:
            if f.interchange == i:
                label = "error" if f.severity is Severity.ERROR else "warning"
                click.echo(f"    {label} ({f.ack.value} {f.code or '-'}): {f.message}")
        try:
            report = validate(ic_text)
        except Pyx12InputError as exc:
            click.echo(f"    not validated: {exc}")
            ok = False
            continue
        for gi, g in enumerate(ic.groups):
            rep = report.groups[gi] if gi < len(report.groups) else None
            verdict = "no map for this version" if rep is not None and not rep.supported else (f"AK9 {rep.ack_code}" if rep else "")
            click.echo(f"    GS {g.functional_id} {g.control_number} {g.version}: {len(g.sets)} set(s) {verdict}")
            for si, ts in enumerate(g.sets):
                srep = rep.sets[si] if rep is not None and si < len(rep.sets) else None
                status = f"AK5 {srep.ack_code} {','.join(srep.codes)}".strip() if srep else "not validated"
                click.echo(f"      ST {ts.id} {ts.control_number}: {ts.counted} segments, {status}")
                if srep is not None and not srep.accepted:
                    ok = False
                    for seg in srep.segments:
                        click.echo(f"        {seg.segment_id} at {seg.position}: {'; '.join(seg.messages)}")
                        for e in seg.elements:
                            click.echo(f"          {e.refdes} (AK4 {e.code}) {e.message}")
        for line in report.notes:
            click.echo(f"    note: {line}")
        if show_ack:
            ack = acknowledge(ic, findings, report, interchange_index=i, numbers=_placeholder_numbers(), now=utcnow())
            click.echo(f"    {ack.summary}")
            click.echo("    the acknowledgment we would send (control numbers are placeholders until it is queued):")
            term = ic.delimiters.segment if ic.delimiters.segment not in "\r\n" else "~"
            for text in ack.data.decode("latin-1").split(term):
                if text.strip():
                    click.echo(f"      {text.strip()}{term}")
    click.echo(f"  => {'ok' if ok else 'has errors'}")
    return ok


def _placeholder_numbers() -> Callable[[str, int], list[int]]:
    taken: dict[str, int] = {}

    def numbers(kind: str, count: int) -> list[int]:
        start = taken.get(kind, 0) + 1
        taken[kind] = start + count - 1
        return list(range(start, start + count))

    return numbers


@edi.command()
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
def show(path: Path) -> None:
    """Print every segment, one per line, with the names of its elements."""
    try:
        tm = read(_load(path))
    except ParseError as exc:
        raise click.ClickException(f"{path}: not X12: {exc}") from exc
    for ic in tm.interchanges:
        _show(ic.header, 0)
        for g in ic.groups:
            _show(g.header, 1)
            for ts in g.sets:
                _show(ts.header, 2)
                for seg in ts.segments:
                    _show(seg, 3)
                if ts.trailer is not None:
                    _show(ts.trailer, 2)
            if g.trailer is not None:
                _show(g.trailer, 1)
        if ic.trailer is not None:
            _show(ic.trailer, 0)


def _show(seg: Segment, depth: int) -> None:
    pad = "  " * depth
    title = segment_name(seg.tag)
    click.echo(f"{seg.index:>6} {pad}{seg.tag}{'  ' + title if title else ''}")
    for n, value in enumerate(seg.elements, 1):
        if value.strip():
            name = element_name(seg.tag, n)
            click.echo(f"{'':>6} {pad}  {seg.tag}{n:02d} {value!r}{'  ' + name if name else ''}")


@edi.command(name="ingest")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--partner", default=None, help="Trading partner code (default: found from the ISA sender).")
@click.pass_context
def ingest_cmd(ctx: click.Context, path: Path, partner: str | None) -> None:
    """Take an X12 file in as the gateway would: store it, check it, ingest its 850s and 860s."""
    from edi_maps.inbound import receive_x12
    from oms.cli import _open

    store = _open(ctx)
    result = receive_x12(store, _load(path), source=str(path), partner=partner)
    if result.duplicate_document:
        click.echo(f"{path}: already received as document {result.document_id} ({result.state}); nothing to do")
        return
    click.echo(f"{path}: document {result.document_id} {result.state}")
    for ic in result.interchanges:
        head = f"  ISA {ic.control_number} from {ic.sender} ({ic.partner or 'unknown partner'})"
        click.echo(head + (": duplicate interchange" if ic.duplicate else ""))
        for s in ic.sets:
            po = f" PO {s.external_id}" if s.external_id else ""
            click.echo(f"    ST {s.set_id} {s.control_number}:{po} {s.status}" + (f" ({s.reason})" if s.reason and s.status != "ingested" else ""))
    for p in result.problems:
        click.echo(f"  problem: {p.reason}", err=True)
    if result.state != "accepted":
        sys.exit(1)
