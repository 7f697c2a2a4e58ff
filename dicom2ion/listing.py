"""A readable listing of a P10 file's elements, straight from the events."""

from __future__ import annotations

from typing import Iterable, Iterator

from . import charset
from .dictionary import keyword_for
from .errors import format_tag
from .events import (
    UNDEFINED, DataSetStart, DeflateInfo, Element, End, FileMetaStart, Fragment,
    FragmentsEnd, FragmentsStart, ItemEnd, ItemStart, Preamble, SequenceEnd, SequenceStart,
    Trailing,
)
from .ion import values

SPECIFIC_CHARACTER_SET = 0x00080005


def _length(length) -> str:
    return "undefined" if length == UNDEFINED else str(length)


def _value(event: Element, little: bool, charsets: tuple, width: int) -> str:
    if event.value is None:
        return f"<{event.length} bytes in chunks>"
    try:
        value, _ = values.decode(event.vr, event.value, little, charsets)
    except Exception:  # a listing must never stop on a value
        value = event.value
    if isinstance(value, (bytes, bytearray)):
        text = value[:16].hex(" ") + (" ..." if len(value) > 16 else "")
    elif value is None:
        text = "(empty)"
    else:
        text = repr(value)
    return text if len(text) <= width else text[:width - 3] + "..."


def dump_lines(events: Iterable, *, width: int = 64) -> Iterator[str]:
    """Lines of text: offset, tag, keyword, VR, length and a short value."""
    depth = 0
    little = True
    charsets: list = [()]
    for event in events:
        kind = type(event)
        pad = "  " * depth
        if kind is Element:
            name = keyword_for(event.tag) or ""
            if event.tag == SPECIFIC_CHARACTER_SET and event.value is not None:
                charsets[-1] = charset.parse_charsets(event.value.decode("ascii", "replace"))
            yield (f"{event.offset:>10} {pad}{format_tag(event.tag)} {name:<32} {event.vr} "
                   f"{_length(event.length):>9}  {_value(event, little, charsets[-1], width)}")
        elif kind is SequenceStart:
            name = keyword_for(event.tag) or ""
            yield (f"{event.offset:>10} {pad}{format_tag(event.tag)} {name:<32} {event.vr} "
                   f"{_length(event.length):>9}")
            depth += 1
        elif kind is FragmentsStart:
            name = keyword_for(event.tag) or ""
            yield (f"{event.offset:>10} {pad}{format_tag(event.tag)} {name:<32} {event.vr} "
                   f"{'undefined':>9}  encapsulated")
            depth += 1
        elif kind is ItemStart:
            yield f"{event.offset:>10} {pad}(FFFE,E000) Item {_length(event.length)}"
            depth += 1
            charsets.append(charsets[-1])
        elif kind is ItemEnd:
            depth -= 1
            charsets.pop()
            if event.delimited:
                yield f"{event.offset:>10} {'  ' * depth}(FFFE,E00D) ItemDelimitationItem"
        elif kind is SequenceEnd:
            depth -= 1
            if event.delimited:
                yield f"{event.offset:>10} {'  ' * depth}(FFFE,E0DD) SequenceDelimitationItem"
        elif kind is Fragment:
            yield f"{event.offset:>10} {pad}(FFFE,E000) Fragment {event.length}"
        elif kind is FragmentsEnd:
            depth -= 1
            yield f"{event.offset:>10} {'  ' * depth}(FFFE,E0DD) SequenceDelimitationItem"
        elif kind is Preamble:
            yield "         0 preamble: " + ("none (no DICM prefix)" if event.data is None
                                           else "128 bytes + DICM")
        elif kind is FileMetaStart:
            yield f"{event.offset:>10} file meta group"
        elif kind is DataSetStart:
            little = event.little_endian
            enc = ("explicit" if event.explicit_vr else "implicit") + (
                " VR little endian" if little else " VR big endian")
            if event.deflated:
                enc = "deflated " + enc
            yield f"{event.offset:>10} data set: {enc} (transfer syntax {event.transfer_syntax})"
        elif kind is Trailing:
            size = len(event.value) if event.value is not None else "many"
            yield f"{event.offset:>10} trailing bytes: {size}"
        elif kind is DeflateInfo:
            yield (f"{event.offset:>10} deflated stream: {event.length} bytes -> "
                   f"{event.inflated_length} bytes, zlib level {event.level}")
        elif kind is End:
            yield f"{event.offset:>10} end"
