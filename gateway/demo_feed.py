"""A demo trading partner: 850 purchase orders dropped into a folder mailbox every few seconds,
so a newcomer running `oms demo` watches orders arrive (and 997s go back).

    feed = DemoFeed(folder, partner_isa="ACMERETAIL", our_isa="OMSDEMO", items=["ACME-00001", ...])
    feed.drop()        # one file with 1-3 POs, written under a temporary name then renamed
    feed.run(stop)     # drop() every `every` seconds until `stop` is set
"""

from __future__ import annotations

import datetime as dt
import random
import threading
from collections.abc import Sequence
from pathlib import Path

from edi_maps.segments import Delimiters
from edi_maps.writer import GroupSpec, IsaHeader, SetSpec, Writer

__all__ = ["DemoFeed"]

_STORES = [("STORE 0042", "100 MAIN ST", "SPRINGFIELD", "IL", "62701"), ("STORE 0107", "9 HARBOR RD", "PORTLAND", "ME", "04101"),
           ("DC 0003", "1 LOGISTICS WAY", "MEMPHIS", "TN", "38118")]


class DemoFeed:
    def __init__(self, folder: Path, *, partner_isa: str, our_isa: str, items: Sequence[str], inbox: str = "in",
                 every: float = 5.0, seed: int | None = None) -> None:
        self.inbox = folder / inbox
        self.partner_isa, self.our_isa, self.items, self.every = partner_isa, our_isa, list(items), every
        self.rng = random.Random(seed)
        self.count = 0
        self._control = int(dt.datetime.now(dt.UTC).timestamp()) % 100_000_000  # a fresh range per run

    def drop(self) -> Path:
        """Write one interchange of 1-3 POs into the inbox; returns its path."""
        self.inbox.mkdir(parents=True, exist_ok=True)
        self._control += 1
        now = dt.datetime.now(dt.UTC)
        w = Writer(Delimiters("*", ">", "~", "^"), newline="\n")
        sets = []
        for n in range(self.rng.randint(1, 3)):
            self.count += 1
            po = f"DEMO-{now:%m%d}-{self._control % 100000:05d}-{n + 1}"
            name, street, city, region, postal = self.rng.choice(_STORES)
            body = [
                w.segment("BEG", "00", "SA", po, "", f"{now:%Y%m%d}"),
                w.segment("DTM", "010", f"{now + dt.timedelta(days=3):%Y%m%d}"),
                w.segment("N1", "ST", name, "92", name[-4:]),
                w.segment("N3", street),
                w.segment("N4", city, region, postal, "US"),
            ]
            picks = self.rng.sample(self.items, k=min(len(self.items), self.rng.randint(1, 4)))
            for i, item in enumerate(picks, 1):
                body.append(w.segment("PO1", str(i), str(self.rng.randint(1, 24)), "EA",
                                      f"{self.rng.randint(3, 60)}.{self.rng.choice(['00', '49', '99'])}", "", "BP", item))
            body.append(w.segment("CTT", str(len(picks))))
            sets.append(SetSpec("850", n + 1, body))
        header = IsaHeader("ZZ", self.partner_isa, "ZZ", self.our_isa, self._control, now, version="00401")
        data = w.write(w.interchange(header, [GroupSpec("PO", self.partner_isa, self.our_isa, self._control, now, sets)]))
        final = self.inbox / f"po_{self._control:09d}.x12"
        temp = self.inbox / f".{final.name}.part"
        temp.write_bytes(data)
        temp.rename(final)
        return final

    def run(self, stop: threading.Event) -> None:
        while not stop.wait(self.every):
            self.drop()
