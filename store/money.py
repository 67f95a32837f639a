"""Money is integer minor units plus an ISO 4217 currency (invariant 8)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from .errors import StoreError

__all__ = ["currency_exponent", "parse_amount", "format_amount"]

# ISO 4217 currencies whose minor unit is not a hundredth.
_EXPONENTS = {
    **dict.fromkeys(
        ("BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "VND", "VUV",
         "XAF", "XOF", "XPF"),
        0,
    ),
    **dict.fromkeys(("BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"), 3),
}


def currency_exponent(currency: str) -> int:
    """Decimal places of the currency's minor unit: 2 unless ISO 4217 says otherwise."""
    return _EXPONENTS.get(currency.upper(), 2)


def parse_amount(text: str, currency: str) -> int:
    """An amount as a person types it ("12.99", "12") in minor units of `currency` (1299, 1200).
    Refuses negatives, non-numbers and more decimals than the currency has."""
    exp = currency_exponent(currency)
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise StoreError(f"{text!r} is not an amount") from None
    if not value.is_finite() or value < 0:
        raise StoreError(f"{text!r} is not an amount of money (a positive number like 12.50)")
    minor = value.scaleb(exp)
    if minor != minor.to_integral_value():
        raise StoreError(f"{text} has more decimals than {currency.upper()} has ({exp})")
    return int(minor)


def format_amount(minor: int, currency: str) -> str:
    """1299, "USD" -> "12.99 USD"."""
    exp = currency_exponent(currency)
    whole, part = divmod(abs(minor), 10**exp)
    sign = "-" if minor < 0 else ""
    return f"{sign}{whole}.{part:0{exp}d} {currency}" if exp else f"{sign}{whole} {currency}"
