"""pydicom as an independent oracle for the corpus tests.

Two views of a P10 file's element tree are built here, one from dicom2ion's
reader events and one from pydicom, in the same shape so that they can be
compared node by node:

    Node(tag, vr, length, items, fragments)

``items`` is a tuple of ``Item(undefined, nodes)`` for sequences (else None),
``fragments`` the tuple of fragment lengths of encapsulated data, the basic
offset table first (else None). ``length`` is the value length on the wire
(0xFFFFFFFF for undefined length).

pydicom is only ever imported by the tests, never by the package.
"""

from __future__ import annotations

import contextlib
import warnings
from typing import List, NamedTuple, Optional, Tuple

from dicom2ion.dictionary import lookup
from dicom2ion.events import (
    UNDEFINED, DataSetStart, Element, FileMetaStart, Fragment, FragmentsEnd,
    FragmentsStart, ItemEnd, ItemStart, SequenceEnd, SequenceStart,
)


class Item(NamedTuple):
    undefined: bool
    nodes: tuple


class Node(NamedTuple):
    tag: int
    vr: str
    length: int
    items: Optional[Tuple[Item, ...]] = None
    fragments: Optional[Tuple[int, ...]] = None


class Tree(NamedTuple):
    """The meta group and the data set, each a tuple of nodes, plus how
    the data set is encoded (explicit VR, little endian)."""

    meta: tuple
    body: tuple
    explicit: bool
    little: bool


# --------------------------------------------------------------------------
# dicom2ion's view


def reader_tree(events) -> Tree:
    """The element tree of a list of reader events."""
    meta: list = []
    body: list = []
    explicit, little = True, True
    # stack of [kind, payload]: a list of nodes (data set / item) or an open node
    current: list = body
    stack: List[tuple] = []
    for event in events:
        kind = type(event)
        if kind is Element:
            current.append(Node(event.tag, event.vr, event.length))
        elif kind is SequenceStart:
            stack.append(("seq", event, current, []))
        elif kind is ItemStart:
            nodes: list = []
            stack.append(("item", event.length == UNDEFINED, current, nodes))
            current = nodes
        elif kind is ItemEnd:
            _, undefined, parent, nodes = stack.pop()
            stack[-1][3].append(Item(undefined, tuple(nodes)))
            current = parent
        elif kind is SequenceEnd:
            _, start, parent, items = stack.pop()
            parent.append(Node(start.tag, start.vr, start.length, tuple(items)))
        elif kind is FragmentsStart:
            stack.append(("frag", event, current, []))
        elif kind is Fragment:
            stack[-1][3].append(event.length)
        elif kind is FragmentsEnd:
            _, start, parent, lengths = stack.pop()
            parent.append(Node(start.tag, start.vr, UNDEFINED, None, tuple(lengths)))
        elif kind is FileMetaStart:
            current = meta
        elif kind is DataSetStart:
            current = body
            explicit, little = event.explicit_vr, event.little_endian
    assert not stack, "events end inside a sequence, item or fragments"
    return Tree(tuple(meta), tuple(body), explicit, little)


# --------------------------------------------------------------------------
# pydicom's view


def _pydicom():
    import pydicom  # noqa: F401  (only the tests use pydicom)
    return pydicom


def _raw_vr(ds, raw) -> str:
    """pydicom's VR of a raw element: the wire VR in explicit VR, else what
    pydicom's own dictionaries (standard and private) say."""
    if raw.VR is not None:
        return str(raw.VR)
    from pydicom import hooks
    data: dict = {}
    hooks.raw_element_vr(raw, data, ds=ds)
    return str(data["VR"])


def _items_of(sequence, seen: dict) -> tuple:
    out = []
    for item in sequence:
        undefined = bool(getattr(item, "is_undefined_length_sequence_item", False))
        out.append(Item(undefined, pydicom_nodes(item, seen)))
    return tuple(out)


def parse_sequence_bytes(value: bytes, implicit: bool, little: bool, offset: int = 0):
    """pydicom's reading of the bytes of a defined-length sequence value."""
    from pydicom.values import convert_SQ
    return convert_SQ(value, implicit, little, None, offset)


def pydicom_node(ds, tag, seen: dict) -> Node:
    from pydicom.dataelem import RawDataElement
    from pydicom.encaps import generate_fragments
    raw = ds.get_item(tag)
    if not isinstance(raw, RawDataElement):
        # pydicom converted this element already: take the raw element it
        # came from (recorded by the conversion callback), if any
        recorded = seen.get((int(raw.tag), raw.file_tell))
        if recorded is None:
            # pydicom reads undefined-length sequences eagerly, as DataElements
            assert raw.VR == "SQ" and raw.is_undefined_length, (tag_str(int(tag)), raw)
            return Node(int(raw.tag), "SQ", UNDEFINED, _items_of(raw.value, seen))
        converted, raw = raw, recorded
    else:
        converted = None
    vr = _raw_vr(ds, raw)
    length = raw.length
    if vr == "SQ":
        seq = (converted if converted is not None else ds[tag]).value
        return Node(int(tag), vr, length, _items_of(seq, seen))
    if (raw.is_implicit_VR and vr != "SQ" and length != UNDEFINED and length >= 8
            and raw.value and raw.value[:4] == b"\xfe\xff\x00\xe0"):
        # Bytes that start with an item tag, under a tag pydicom does not
        # know as a sequence (private, implicit VR): what pydicom finds
        # when asked to read them as an implicit VR little endian sequence.
        try:
            seq = parse_sequence_bytes(raw.value, True, True, raw.value_tell)
        except Exception:
            seq = None
        if seq is not None:
            return Node(int(tag), vr, length, _items_of(seq, seen))
    if length == UNDEFINED:
        endianness = "<" if raw.is_little_endian else ">"
        fragments = tuple(len(f) for f in generate_fragments(raw.value or b"",
                                                              endianness=endianness))
        return Node(int(tag), vr, length, None, fragments)
    return Node(int(tag), vr, length)


def _tell(ds, tag) -> int:
    raw = ds.get_item(tag)
    tell = getattr(raw, "value_tell", None)  # RawDataElement
    if tell is None:
        tell = getattr(raw, "file_tell", None)  # DataElement
    return tell if tell is not None else -1


def pydicom_nodes(ds, seen: dict) -> tuple:
    """The nodes of a pydicom data set in file order (pydicom keeps one
    element per tag, the last one read, at its file position)."""
    tags = sorted(ds.keys(), key=lambda t: (_tell(ds, t), int(t)))
    return tuple(pydicom_node(ds, t, seen) for t in tags)


@contextlib.contextmanager
def recording_raw_elements():
    """While active, every raw element pydicom converts is recorded in the
    yielded dict by (tag, value offset): pydicom converts some elements
    while reading (the transfer syntax, character sets, empty values), and
    only the raw element knows the wire VR and length."""
    from pydicom import config
    seen: dict = {}
    previous = config.data_element_callback, config.data_element_callback_kwargs

    def record(raw, **_):
        seen[(int(raw.tag), raw.value_tell)] = raw
        return raw

    config.data_element_callback = record
    config.data_element_callback_kwargs = {}
    try:
        yield seen
    finally:
        config.data_element_callback, config.data_element_callback_kwargs = previous


def pydicom_dataset(path):
    """pydicom's reading of a file (warnings about odd files silenced)."""
    pydicom = _pydicom()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pydicom.dcmread(path, force=True)


def pydicom_tree(path) -> Tree:
    with recording_raw_elements() as seen, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = pydicom_dataset(path)
        meta = pydicom_nodes(ds.file_meta, seen) if ds.file_meta is not None else ()
        body = pydicom_nodes(ds, seen)
    # the encoding pydicom really read the data set in (its original_encoding
    # reports the declared one when the two differ)
    implicit, little = ds.original_encoding[0], ds.original_encoding[1]
    raws = []
    for tag in ds.keys():
        raw = ds.get_item(tag)
        if not hasattr(raw, "is_implicit_VR"):
            raw = seen.get((int(tag), raw.file_tell))
        if raw is not None and int(tag) >> 16 != 2:
            raws.append(raw)
    if raws:
        first = min(raws, key=lambda r: r.value_tell)
        implicit, little = first.is_implicit_VR, first.is_little_endian
    return Tree(meta, body, not implicit, little)


# --------------------------------------------------------------------------
# comparison helpers


def tag_str(tag: int) -> str:
    return f"({tag >> 16:04X},{tag & 0xFFFF:04X})"


def dedupe_keep_last(nodes) -> tuple:
    """Our nodes as pydicom keeps them: one per tag (the last one read), at
    that last one's position."""
    last = {}
    for i, node in enumerate(nodes):
        last[node.tag] = i
    return tuple(n for i, n in enumerate(nodes) if last[n.tag] == i)


def multi_vrs(tag: int) -> tuple:
    entry = lookup(tag)
    return tuple(entry.vrs) if entry is not None else ()
