"""The errors of `edi_maps`, one tree for the package.

    EdiError                 anything this package raises; never a bare ValueError or UnicodeError
     ├── ParseError          the bytes cannot be read as X12 at all (no ISA, unusable delimiters)
     ├── EnvelopeError       an envelope is unsound and the caller asked for a sound one
     ├── MappingError        a transaction set cannot become (or be made from) the store's shapes:
                             no PO number, a quantity that is not a number, a bad date
     └── ValidationError     content cannot be written as asked (a delimiter inside a value,
                             an ISA field too wide, a character outside latin-1)

Every error carries where it happened: `offset` (byte offset in the file, -1 if unknown) and
`segment_index` (1-based ordinal of the segment in the file, 0 if unknown), and a message an
operator can read in the TUI. Structural faults of a readable file (a missing SE, a count that
does not match) are not raised: the reader records them as findings (`edi_maps.findings`) so
that a 997 or TA1 can name them.
"""

from __future__ import annotations

__all__ = ["EdiError", "ParseError", "EnvelopeError", "MappingError", "ValidationError"]


class EdiError(Exception):
    """Base of the package's errors, with a position and a readable message."""

    def __init__(self, message: str, *, offset: int = -1, segment_index: int = 0) -> None:
        self.message = message
        self.offset = offset
        self.segment_index = segment_index
        super().__init__(self._render())

    def _render(self) -> str:
        where = []
        if self.offset >= 0:
            where.append(f"byte {self.offset}")
        if self.segment_index > 0:
            where.append(f"segment {self.segment_index}")
        return f"{self.message} (at {', '.join(where)})" if where else self.message


class ParseError(EdiError):
    """The input is not readable as X12: nothing in it can be acknowledged."""


class EnvelopeError(EdiError):
    """An interchange's envelope has errors (raised by `envelope.require_sound`)."""


class MappingError(EdiError):
    """A transaction set's content does not map to or from the store's shapes."""


class ValidationError(EdiError):
    """A value cannot be written: it would corrupt the output or does not fit its field."""
