"""A readable listing of a P10 file's elements, straight from the events."""

from __future__ import annotations

from typing import Callable, Dict, Iterable, Iterator, List, Optional

from . import charset
from .dictionary import keyword_for
from .errors import format_tag
from .events import (
    UNDEFINED, DataSetStart, DeflateInfo, Element, End, FileMetaStart, Fragment,
    FragmentsEnd, FragmentsStart, ItemEnd, ItemStart, Preamble, SequenceEnd, SequenceStart,
    Trailing,
)
from .ion import values
from .p10.wire import SPECIFIC_CHARACTER_SET, CharsetScope, Context


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


class _Level:
    """One data set, item, sequence or encapsulated value being listed."""

    __slots__ = ("ctx", "charsets")

    def __init__(self, ctx: Context, charsets: CharsetScope):
        self.ctx = ctx
        self.charsets = charsets


class _Lister:
    """Turns events into lines; keeps the encoding and character sets in
    force at each level, as the wire rules give them."""

    def __init__(self, width: int):
        self.width = width
        self.levels: List[_Level] = [_Level(Context(True, True), CharsetScope())]
        self.handlers: Dict[type, Callable[[object], Optional[str]]] = {
            Element: self.element, SequenceStart: self.sequence_start,
            FragmentsStart: self.fragments_start, ItemStart: self.item_start,
            ItemEnd: self.item_end, SequenceEnd: self.sequence_end, Fragment: self.fragment,
            FragmentsEnd: self.fragments_end, Preamble: self.preamble,
            FileMetaStart: self.meta_start, DataSetStart: self.data_set_start,
            Trailing: self.trailing, DeflateInfo: self.deflate, End: self.end,
        }

    def pad(self) -> str:
        return "  " * (len(self.levels) - 1)

    def header(self, event, length) -> str:
        name = keyword_for(event.tag) or ""
        return (f"{event.offset:>10} {self.pad()}{format_tag(event.tag)} {name:<32} {event.vr} "
                f"{length:>9}")

    def element(self, event: Element) -> str:
        level = self.levels[-1]
        if event.tag == SPECIFIC_CHARACTER_SET and event.value is not None:
            level.charsets.current = charset.parse_charsets(
                event.value.decode("ascii", "replace"))
        shown = _value(event, level.ctx.little, level.charsets.for_tag(event.tag), self.width)
        return f"{self.header(event, _length(event.length))}  {shown}"

    def sequence_start(self, event: SequenceStart) -> str:
        line = self.header(event, _length(event.length))
        level = self.levels[-1]
        self.levels.append(_Level(level.ctx.inside(event.vr, event.length),
                                  level.charsets.item(event.tag)))
        return line

    def fragments_start(self, event: FragmentsStart) -> str:
        line = f"{self.header(event, 'undefined')}  encapsulated"
        level = self.levels[-1]
        self.levels.append(_Level(level.ctx, level.charsets))
        return line

    def item_start(self, event: ItemStart) -> str:
        line = f"{event.offset:>10} {self.pad()}(FFFE,E000) Item {_length(event.length)}"
        seq = self.levels[-1]
        self.levels.append(_Level(seq.ctx, CharsetScope(seq.charsets.inherited)))
        return line

    def item_end(self, event: ItemEnd) -> Optional[str]:
        self.levels.pop()
        if event.delimited:
            return f"{event.offset:>10} {self.pad()}(FFFE,E00D) ItemDelimitationItem"
        return None

    def sequence_end(self, event: SequenceEnd) -> Optional[str]:
        self.levels.pop()
        if event.delimited:
            return f"{event.offset:>10} {self.pad()}(FFFE,E0DD) SequenceDelimitationItem"
        return None

    def fragment(self, event: Fragment) -> str:
        return f"{event.offset:>10} {self.pad()}(FFFE,E000) Fragment {event.length}"

    def fragments_end(self, event: FragmentsEnd) -> str:
        self.levels.pop()
        return f"{event.offset:>10} {self.pad()}(FFFE,E0DD) SequenceDelimitationItem"

    def preamble(self, event: Preamble) -> str:
        return "         0 preamble: " + ("none (no DICM prefix)" if event.data is None
                                        else "128 bytes + DICM")

    def meta_start(self, event: FileMetaStart) -> str:
        self.levels = [_Level(Context(event.explicit_vr, event.little_endian), CharsetScope())]
        return f"{event.offset:>10} file meta group"

    def data_set_start(self, event: DataSetStart) -> str:
        self.levels = [_Level(Context(event.explicit_vr, event.little_endian), CharsetScope())]
        enc = ("explicit" if event.explicit_vr else "implicit") + (
            " VR little endian" if event.little_endian else " VR big endian")
        if event.deflated:
            enc = "deflated " + enc
        return f"{event.offset:>10} data set: {enc} (transfer syntax {event.transfer_syntax})"

    def trailing(self, event: Trailing) -> str:
        size = len(event.value) if event.value is not None else "many"
        return f"{event.offset:>10} trailing bytes: {size}"

    def deflate(self, event: DeflateInfo) -> str:
        return (f"{event.offset:>10} deflated stream: {event.length} bytes -> "
                f"{event.inflated_length} bytes, zlib level {event.level}")

    def end(self, event: End) -> str:
        return f"{event.offset:>10} end"


def dump_lines(events: Iterable, *, width: int = 64) -> Iterator[str]:
    """Lines of text: offset, tag, keyword, VR, length and a short value."""
    handlers = _Lister(width).handlers
    for event in events:
        handler = handlers.get(type(event))
        if handler is not None:
            line = handler(event)
            if line is not None:
                yield line
