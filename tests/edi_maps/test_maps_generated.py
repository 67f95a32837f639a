"""The pyx12 maps are generate.py's output; editing one by hand would drift from the others."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

MAPS = Path(__file__).resolve().parents[2] / "edi_maps" / "maps"


def test_committed_maps_are_what_the_generator_writes(tmp_path: Path) -> None:
    subprocess.run([sys.executable, str(MAPS / "generate.py"), str(tmp_path)], check=True, capture_output=True)
    written = sorted(p.name for p in tmp_path.iterdir())
    assert "850.4010.xml" in written and "maps.xml" in written
    stale = [name for name in written if (tmp_path / name).read_bytes() != (MAPS / name).read_bytes()]
    assert stale == [], f"regenerate with: python edi_maps/maps/generate.py edi_maps/maps ({stale})"
