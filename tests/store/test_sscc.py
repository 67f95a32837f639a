from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from store import StoreError
from store.sscc import gs1_check_digit, is_valid_sscc, make_sscc


def test_known_sscc_from_the_gs1_general_specifications() -> None:
    # The worked example GS1 publishes: 0 0614141 123456789 -> check digit 0.
    assert make_sscc(0, "0614141", 123456789) == "006141411234567890"
    assert is_valid_sscc("006141411234567890")
    assert not is_valid_sscc("006141411234567891")


def test_same_check_digit_as_printed_upc_and_ean_codes() -> None:
    assert gs1_check_digit("03600029145") == 2  # UPC-A 036000291452
    assert gs1_check_digit("400638133393") == 1  # EAN-13 4006381333931


@given(st.integers(0, 9), st.from_regex(r"[0-9]{7}", fullmatch=True), st.integers(0, 10**9 - 1))
def test_every_made_sscc_is_18_digits_and_validates(ext: int, prefix: str, serial: int) -> None:
    code = make_sscc(ext, prefix, serial)
    assert len(code) == 18 and is_valid_sscc(code)


@given(st.from_regex(r"[0-9]{17}", fullmatch=True), st.integers(0, 16), st.integers(1, 9))
def test_any_single_digit_error_is_caught(body: str, pos: int, bump: int) -> None:
    code = body + str(gs1_check_digit(body))
    bad = code[:pos] + str((int(code[pos]) + bump) % 10) + code[pos + 1 :]
    assert not is_valid_sscc(bad)


def test_bad_inputs_are_clear_errors() -> None:
    with pytest.raises(StoreError, match="company prefix"):
        make_sscc(0, "12", 1)
    with pytest.raises(StoreError, match="does not fit"):
        make_sscc(0, "0614141", 10**9)
