"""The event model shared by the P10 reader, the P10 writer and the Ion mapping.

The reader turns bytes into these events, the writer turns them back into
bytes, and the Ion visitor and its inverse map them to and from Ion. Events
are immutable named tuples: cheap to make, comparable with ``==``.

Offsets are byte offsets in the P10 stream. In a deflated data set they count
bytes of the inflated stream, continuing from the end of the meta group.

Lengths use ``UNDEFINED`` (0xFFFFFFFF) for undefined length. A writer given
``length=None`` on a defined-length sequence or item computes it.
"""

from __future__ import annotations

from typing import NamedTuple, Optional

UNDEFINED = 0xFFFFFFFF


class Preamble(NamedTuple):
    """The 128-byte preamble and "DICM" prefix; ``data`` is None when absent."""

    data: Optional[bytes]


class FileMetaStart(NamedTuple):
    """The file meta group begins; its elements follow in the given encoding."""

    offset: int
    explicit_vr: bool = True
    little_endian: bool = True


class DataSetStart(NamedTuple):
    """The main data set begins in the given encoding.

    ``transfer_syntax`` is the declared UID (None when not declared);
    ``explicit_vr``/``little_endian``/``deflated`` describe the encoding
    actually used, which may differ from the declared one.
    """

    offset: int
    transfer_syntax: Optional[str]
    explicit_vr: bool
    little_endian: bool
    deflated: bool = False


class Element(NamedTuple):
    """A primitive element.

    ``vr`` is the VR on the wire (explicit) or inferred (implicit, or a wire
    VR that is not valid, then 'UN'). ``value`` holds the whole value, or is
    None when the value follows as ``ValueChunk`` events. ``raw_vr`` keeps
    the two VR bytes when they are not a valid VR; ``reserved`` keeps the two
    reserved bytes of a long explicit header when they are not zero.
    """

    tag: int
    vr: str
    length: int
    offset: int
    value: Optional[bytes]
    raw_vr: Optional[bytes] = None
    reserved: int = 0


class ValueChunk(NamedTuple):
    """A piece of a long value (after an Element, Fragment, Trailing or
    Unparsed). A last chunk that leaves the value short of its declared
    length means the input was cut inside it."""

    data: bytes
    last: bool


class SequenceStart(NamedTuple):
    """A sequence (VR SQ, or UN of undefined length holding implicit LE items)."""

    tag: int
    vr: str
    length: Optional[int]
    offset: int
    raw_vr: Optional[bytes] = None
    reserved: int = 0


class ItemStart(NamedTuple):
    offset: int
    length: Optional[int]


class ItemEnd(NamedTuple):
    """End of an item; ``delimited`` when an item delimiter was written.
    ``truncated``: the input ended (or the structure broke) before the item
    did; no delimiter follows and the declared length is not reached."""

    offset: int
    delimited: bool
    length: int = 0
    truncated: bool = False


class SequenceEnd(NamedTuple):
    """End of a sequence; ``delimited`` when a sequence delimiter was written.
    ``truncated`` as for ``ItemEnd``."""

    offset: int
    delimited: bool
    length: int = 0
    truncated: bool = False


class FragmentsStart(NamedTuple):
    """Encapsulated (fragmented) pixel data of undefined length begins."""

    tag: int
    vr: str
    offset: int
    raw_vr: Optional[bytes] = None
    reserved: int = 0


class Fragment(NamedTuple):
    """One item of encapsulated data; the first is the basic offset table.

    ``value`` is None when the bytes follow as ``ValueChunk`` events.
    """

    offset: int
    length: int
    value: Optional[bytes]


class FragmentsEnd(NamedTuple):
    """End of encapsulated data; ``truncated``: the input ended before its
    sequence delimiter (none is written)."""

    offset: int
    length: int = 0
    truncated: bool = False


class Trailing(NamedTuple):
    """Bytes after the data set that do not form elements (followed by
    ``ValueChunk`` events when ``value`` is None)."""

    offset: int
    value: Optional[bytes]


class Unparsed(NamedTuple):
    """Bytes the reader could not read as elements where they stand (a
    salvage read): kept in place and written back verbatim. ``value`` is
    None when the bytes follow as ``ValueChunk`` events."""

    offset: int
    length: int
    value: Optional[bytes]


# The kinds of damage a salvage read reports (``Damage.kind``), each with what it means.
DAMAGE_KINDS = {
    "unparsed": "bytes that do not form an element here (kept as raw bytes)",
    "stray-delimiter": "an item or delimiter tag where none belongs (kept as raw bytes)",
    "truncated": "the input ends inside a header, value, item, sequence or encapsulated data",
    "length-past-end": "a length that runs past the end of its item, sequence or the input",
    "meta-group": "a file meta group that contradicts itself (its group length, a "
                  "sequence in it, or group 0002 after it)",
    "deflate": "a deflated data set whose compressed stream is corrupt or cut",
    "too-deep": "nesting deeper than the limit (the rest of the level kept as raw bytes)",
    "too-many-problems": "more problems than the limit (the rest kept as raw bytes)",
}


class Damage(NamedTuple):
    """A diagnostic of a salvage read: what is wrong at ``offset``. ``path``
    holds the tags of the enclosing elements (and the element's own, when
    known); ``kind`` is one of ``DAMAGE_KINDS``. Writers ignore it."""

    offset: int
    path: tuple
    kind: str
    message: str


class DeflateInfo(NamedTuple):
    """How a deflated data set was compressed.

    ``level`` is the zlib level that reproduces the compressed bytes exactly,
    or None when none does. ``offset``/``length`` locate the compressed
    bytes in the file, ``sha256`` is their digest. ``inflated_length`` is the
    size of the inflated data. ``raw`` holds the compressed bytes when no
    level reproduces them (and they were small enough to keep), else None.
    """

    offset: int
    length: int
    level: Optional[int]
    inflated_length: int
    sha256: str
    raw: Optional[bytes] = None


class End(NamedTuple):
    """End of input; ``offset`` is the total size of the stream."""

    offset: int

