"""SSCC-18 serial shipping container codes with their GS1 mod-10 check digit."""

from __future__ import annotations

from .errors import StoreError

__all__ = ["gs1_check_digit", "make_sscc", "is_valid_sscc"]


def gs1_check_digit(digits: str) -> int:
    """GS1 mod-10: weights 3,1,3,... from the rightmost digit of the data."""
    if not digits.isdigit():
        raise StoreError(f"GS1 data must be digits, got {digits!r}")
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(digits)))
    return (10 - total % 10) % 10


def make_sscc(extension: int, company_prefix: str, serial: int) -> str:
    """Extension digit + GS1 company prefix + serial reference, padded to 17 digits, + check digit."""
    if not 0 <= extension <= 9:
        raise StoreError("the SSCC extension digit is 0-9")
    if not company_prefix.isdigit() or not 6 <= len(company_prefix) <= 12:
        raise StoreError(f"a GS1 company prefix is 6 to 12 digits, got {company_prefix!r}")
    room = 16 - len(company_prefix)
    if not 0 <= serial < 10**room:
        raise StoreError(f"serial {serial} does not fit in {room} digits after prefix {company_prefix}")
    body = f"{extension}{company_prefix}{serial:0{room}d}"
    return body + str(gs1_check_digit(body))


def is_valid_sscc(code: str) -> bool:
    return len(code) == 18 and code.isdigit() and int(code[-1]) == gs1_check_digit(code[:-1])
