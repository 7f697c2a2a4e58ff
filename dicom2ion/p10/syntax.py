"""Transfer syntaxes: how a UID maps to an encoding."""

from __future__ import annotations

from typing import NamedTuple, Optional

IMPLICIT_LE = "1.2.840.10008.1.2"
EXPLICIT_LE = "1.2.840.10008.1.2.1"
DEFLATED_LE = "1.2.840.10008.1.2.1.99"
EXPLICIT_BE = "1.2.840.10008.1.2.2"
JPIP_REFERENCED_DEFLATE = "1.2.840.10008.1.2.4.95"


class Encoding(NamedTuple):
    explicit_vr: bool
    little_endian: bool
    deflated: bool = False

    @property
    def name(self) -> str:
        base = ("explicit" if self.explicit_vr else "implicit") + (
            "-le" if self.little_endian else "-be")
        return "deflated-" + base if self.deflated else base


ENCODINGS = {
    IMPLICIT_LE: Encoding(False, True),
    EXPLICIT_LE: Encoding(True, True),
    DEFLATED_LE: Encoding(True, True, True),
    JPIP_REFERENCED_DEFLATE: Encoding(True, True, True),
    EXPLICIT_BE: Encoding(True, False),
}


def encoding_for(uid: Optional[str]) -> Optional[Encoding]:
    """The encoding a transfer syntax UID declares; every other UID
    (encapsulated syntaxes, unknown UIDs) is explicit VR little endian.
    None when no UID is given."""
    if uid is None:
        return None
    return ENCODINGS.get(uid, Encoding(True, True))


def encoding_from_name(name: str) -> Encoding:
    """Inverse of ``Encoding.name``."""
    deflated = name.startswith("deflated-")
    core = name[len("deflated-"):] if deflated else name
    try:
        kind, endian = core.split("-")
    except ValueError:
        raise ValueError(f"unknown encoding name {name!r}") from None
    if kind not in ("explicit", "implicit") or endian not in ("le", "be"):
        raise ValueError(f"unknown encoding name {name!r}")
    return Encoding(kind == "explicit", endian == "le", deflated)
