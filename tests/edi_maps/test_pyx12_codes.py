"""The shared codes.xml: one parse per process, never changed by validating."""

from __future__ import annotations

import pyx12.codes

from edi_maps.pyx12_codes import shared_codes
from edi_maps.pyx12_validate import map_dir, validate
from tests.edi_maps.test_corpus import CORPUS, FILES, _need_corpus


def _snapshot(codes: object) -> dict[object, tuple[object, object, frozenset[object]]]:
    return {k: (v["name"], v["dataele"], frozenset(v["codes"])) for k, v in codes.codes.items()}  # type: ignore[attr-defined]


def test_pyx12_builds_its_codes_once_and_validating_the_corpus_leaves_them_as_read() -> None:
    _need_corpus()
    assert pyx12.codes.ExternalCodes is shared_codes
    codes = shared_codes(str(map_dir()), None)
    before = _snapshot(codes)
    fresh = _snapshot(shared_codes.__globals__["_original"](str(map_dir()), None))
    assert before == fresh  # the shared one is what pyx12 would have parsed itself
    for name in FILES:
        text = (CORPUS / name).read_bytes().decode("latin-1")
        if text.lstrip("\ufeff \r\n\t").startswith("ISA"):
            validate(text, workers=1)
    assert shared_codes(str(map_dir()), None) is codes
    assert _snapshot(codes) == before
