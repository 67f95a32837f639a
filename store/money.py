"""Money is integer minor units plus an ISO 4217 currency (invariant 8)."""

from __future__ import annotations

__all__ = ["currency_exponent"]

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
