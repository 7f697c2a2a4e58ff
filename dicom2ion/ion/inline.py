"""Which values the Ion document holds inline, and which it references."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

DEFAULT_INLINE_LIMIT = 256


@dataclass(frozen=True)
class InlineLimits:
    """Values longer than the limit for their tag (standard or private) become
    bulk references ``{dataOffset, length, sha256}``; with ``everything``
    every value, fragment and raw byte string is kept inline."""

    standard: int = DEFAULT_INLINE_LIMIT
    private: int = DEFAULT_INLINE_LIMIT
    everything: bool = False

    @classmethod
    def of(cls, standard: int = DEFAULT_INLINE_LIMIT, private: int = DEFAULT_INLINE_LIMIT,
           everything: bool = False) -> "InlineLimits":
        return cls(standard, private, bool(everything))

    def limit_for(self, tag: int) -> Optional[int]:
        """The longest inline value for ``tag``; None when everything is inline."""
        if self.everything:
            return None
        return self.private if tag & 0x10000 else self.standard

    def options(self) -> dict:
        """The document's ``options`` fields that record these limits."""
        if self.everything:
            return {"inlineAll": True}
        return {"standardAttributeMaxInlineLength": self.standard,
                "privateAttributeMaxInlineLength": self.private}
