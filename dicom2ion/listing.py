"""A listing of a P10 file's elements like DCMTK's dcmdump, straight from
the events:

    offset (gggg,eeee) VR [value]                       # length, VM Name

Private attributes are named from the shipped private dictionary under
their private creator; UIDs are shown in full, other values cut at
``width``. ``tags`` lists only those top-level attributes (with everything
inside them) and stops reading at the end of the last one; ``top_level``
leaves out the contents of sequences. A salvage read's problems and the raw
bytes it kept are shown where they are, as ``# damage`` and ``# unparsed``
lines.
"""

from __future__ import annotations

from typing import Callable, Collection, Dict, Iterable, Iterator, List, Optional

from . import charset
from .dictionary import BUILTIN, Dictionary
from .events import (
    UNDEFINED, Damage, DataSetStart, DeflateInfo, Element, End, FileMetaStart, Fragment,
    FragmentsEnd, FragmentsStart, ItemEnd, ItemStart, Preamble, SequenceEnd, SequenceStart,
    Trailing, Unparsed,
)
from .errors import format_tag
from .ion import values
from .p10.wire import SPECIFIC_CHARACTER_SET, CharsetScope, Context, ImplicitVRs
from .typed import numbers, vm


VALUE_COLUMN = 52      # where "# length, VM Name" starts, as in dcmdump


def _length(length) -> str:
    return "u/l" if length == UNDEFINED else str(length)


def _text(event: Element, little: bool, charsets: tuple, width: int):
    """(value text, VM) of a primitive element."""
    if event.value is None:
        return f"({event.length} bytes, not shown)", 1
    if not event.value:
        return "(no value available)", 0
    try:
        value, _ = values.decode(event.vr, event.value, little, charsets)
    except Exception:  # a listing must never stop on a value
        value = event.value
    count = vm(event.vr, value)
    if value is None:
        return "(no value available)", 0
    if isinstance(value, (bytes, bytearray)):
        items = numbers(event.vr, bytes(value))
        if isinstance(items, list):
            text = "\\".join(repr(v) if isinstance(v, float) else str(v) for v in items)
        else:
            text = "\\".join("%02x" % b for b in value[:width // 3 + 1])
    elif isinstance(value, str):
        text = f"[{value}]"
        if event.vr == "UI":
            return text, count          # UIDs in full
    else:
        text = repr(value) if isinstance(value, float) else str(value)
    if len(text) > width:
        text = text[:width - 3] + "..."
    return text, count


class _Level:
    """One data set, item, sequence or encapsulated value being listed: its
    encoding and character sets (as the wire rules give them) and its
    private creators."""

    __slots__ = ("ctx", "charsets", "creators")

    def __init__(self, ctx: Context, charsets: CharsetScope):
        self.ctx = ctx
        self.charsets = charsets
        self.creators: Dict[int, str] = {}     # (group << 8 | block) -> private creator


class _Stop(Exception):
    """Every requested attribute has been listed."""


class _Lister:
    """Turns events into lines; keeps the encoding, character sets and
    private creators in force at each level."""

    def __init__(self, width: int, tags: Optional[Collection[int]], top_level: bool,
                 dictionary: Dictionary = BUILTIN):
        self.width = width
        self.dictionary = dictionary
        # implicit VR: the VRs a dictionary given at run time adds, as the converter does
        self.implicit = None if dictionary.builtin else ImplicitVRs.of(dictionary)
        self.tags = frozenset(tags) if tags else None
        self.last = max(self.tags) if self.tags else None
        self.top_level = top_level
        self.shown_depth: Optional[int] = None      # listing inside a requested attribute
        self.in_data_set = False
        self.levels: List[_Level] = [_Level(Context(True, True), CharsetScope())]
        self.handlers: Dict[type, Callable[[object], Optional[str]]] = {
            Element: self.element, SequenceStart: self.sequence_start,
            FragmentsStart: self.fragments_start, ItemStart: self.item_start,
            ItemEnd: self.item_end, SequenceEnd: self.sequence_end, Fragment: self.fragment,
            FragmentsEnd: self.fragments_end, Preamble: self.preamble,
            FileMetaStart: self.meta_start, DataSetStart: self.data_set_start,
            Trailing: self.trailing, DeflateInfo: self.deflate, End: self.end,
            Damage: self.damage, Unparsed: self.unparsed,
        }

    # -- what to show -----------------------------------------------------------
    @property
    def depth(self) -> int:
        return len(self.levels) - 1

    def visible(self) -> bool:
        """Whether a line at the current depth is shown."""
        if self.top_level and self.depth > 0:
            return False
        if self.tags is None:
            return True
        return self.shown_depth is not None and self.depth >= self.shown_depth

    def begin(self, tag: int) -> None:
        """A top-level attribute starts: decide whether it is listed, or stop."""
        if self.tags is None or self.depth:
            return
        if tag in self.tags:
            self.shown_depth = 0
            return
        self.shown_depth = None
        if self.in_data_set and tag > self.last:
            raise _Stop

    def name(self, tag: int) -> str:
        keyword = self.dictionary.keyword_for(tag)
        if keyword:
            return keyword
        group, element = tag >> 16, tag & 0xFFFF
        if group & 1:
            if 0x10 <= element <= 0xFF:
                return "PrivateCreator"
            creator = self.levels[-1].creators.get(group << 8 | element >> 8)
            if creator is not None:
                entry = self.dictionary.lookup_private(creator, group, element & 0xFF)
                if entry is not None:
                    return entry.keyword or entry.name
        if not element:
            return "GroupLength"
        return "Unknown Tag & Data"

    def line(self, offset: int, tag: int, vr: str, text: str, length, count) -> str:
        head = "%s(%04x,%04x) %-2s %s" % ("  " * self.depth, tag >> 16, tag & 0xFFFF, vr or "na",
                                           text)
        return (f"{offset:>10} {head:<{VALUE_COLUMN}} # {_length(length):>4}, {count} "
                f"{self.name(tag)}")

    def marker(self, offset: int, tag: int, text: str, length) -> str:
        head = "%s(%04x,%04x) na %s" % ("  " * self.depth, tag >> 16, tag & 0xFFFF, text)
        return f"{offset:>10} {head:<{VALUE_COLUMN}} # {_length(length):>4}, 0 {self.item_name(tag)}"

    @staticmethod
    def item_name(tag: int) -> str:
        return {0xFFFEE000: "Item", 0xFFFEE00D: "ItemDelimitationItem",
                0xFFFEE0DD: "SequenceDelimitationItem"}[tag]

    # -- events -------------------------------------------------------------------
    def element(self, event: Element) -> Optional[str]:
        self.begin(event.tag)
        level = self.levels[-1]
        tag = event.tag
        if tag == SPECIFIC_CHARACTER_SET and event.value is not None:
            level.charsets.current = charset.parse_charsets(event.value.decode("ascii", "replace"))
        if tag & 0x10000 and 0x10 <= tag & 0xFFFF <= 0xFF and event.value is not None:
            level.creators[(tag >> 16) << 8 | (tag & 0xFF)] = event.value.decode(
                "latin-1").rstrip(" \x00")
        if not self.visible():
            return None
        if self.implicit is not None and not level.ctx.explicit:
            if tag & 0x10000:
                vr = event.vr == "UN" and self.implicit.private_vr(
                    level.creators.get((tag >> 16) << 8 | (tag >> 8 & 0xFF)), tag)
            else:
                vr = self.implicit.standard.get(tag)
            if vr:
                event = event._replace(vr=vr)
        text, count = _text(event, level.ctx.little, level.charsets.for_tag(tag), self.width)
        return self.line(event.offset, tag, event.vr, text, event.length, count)

    def sequence_start(self, event: SequenceStart) -> Optional[str]:
        self.begin(event.tag)
        kind = "undefined" if event.length == UNDEFINED else "explicit"
        line = (self.line(event.offset, event.tag, event.vr, f"(Sequence with {kind} length)",
                          event.length, 1) if self.visible() else None)
        level = self.levels[-1]
        self.levels.append(_Level(level.ctx.inside(event.vr, event.length),
                                  level.charsets.item(event.tag)))
        return line

    def fragments_start(self, event: FragmentsStart) -> Optional[str]:
        self.begin(event.tag)
        line = (self.line(event.offset, event.tag, event.vr, "(PixelSequence)", UNDEFINED, 1)
                if self.visible() else None)
        level = self.levels[-1]
        self.levels.append(_Level(level.ctx, level.charsets))
        return line

    def item_start(self, event: ItemStart) -> Optional[str]:
        kind = "undefined" if event.length == UNDEFINED else "explicit"
        line = (self.marker(event.offset, 0xFFFEE000, f"(Item with {kind} length)",
                            event.length) if self.visible() else None)
        seq = self.levels[-1]
        self.levels.append(_Level(seq.ctx, CharsetScope(seq.charsets.inherited)))
        return line

    def cut(self, event, what: str) -> Optional[str]:
        """The end of a container that the input (or the structure) broke off."""
        if not self.visible():
            return None
        return f"{event.offset:>10} {'  ' * self.depth}# {what} cut off here (no delimiter)"

    def item_end(self, event: ItemEnd) -> Optional[str]:
        self.levels.pop()
        if event.truncated:
            return self.cut(event, "item")
        if event.delimited and self.visible():
            return self.marker(event.offset, 0xFFFEE00D, "(ItemDelimitationItem)",
                               event.length)
        return None

    def sequence_end(self, event: SequenceEnd) -> Optional[str]:
        self.levels.pop()
        if event.truncated:
            return self.cut(event, "sequence")
        if event.delimited and self.visible():
            return self.marker(event.offset, 0xFFFEE0DD, "(SequenceDelimitationItem)",
                               event.length)
        return None

    def fragment(self, event: Fragment) -> Optional[str]:
        if not self.visible():
            return None
        data = event.value
        text = ("\\".join("%02x" % b for b in data[:self.width // 3 + 1])
                if data else "(no value available)")
        if data is None:
            text = f"({event.length} bytes, not shown)"
        elif len(text) > self.width:
            text = text[:self.width - 3] + "..."
        head = "%s(fffe,e000) pi %s" % ("  " * self.depth, text)
        return f"{event.offset:>10} {head:<{VALUE_COLUMN}} # {event.length:>4}, 1 Item"

    def fragments_end(self, event: FragmentsEnd) -> Optional[str]:
        self.levels.pop()
        if event.truncated:
            return self.cut(event, "encapsulated data")
        if not self.visible():
            return None
        return self.marker(event.offset, 0xFFFEE0DD, "(SequenceDelimitationItem)",
                           event.length)

    def preamble(self, event: Preamble) -> Optional[str]:
        if self.tags is not None:
            return None
        return "         0 # preamble: " + ("none (no DICM prefix)" if event.data is None
                                          else "128 bytes + DICM")

    def meta_start(self, event: FileMetaStart) -> Optional[str]:
        self.levels = [_Level(Context(event.explicit_vr, event.little_endian), CharsetScope())]
        return None if self.tags is not None else f"{event.offset:>10} # Dicom-Meta-Information-Header"

    def data_set_start(self, event: DataSetStart) -> Optional[str]:
        self.levels = [_Level(Context(event.explicit_vr, event.little_endian), CharsetScope())]
        self.in_data_set = True
        if self.tags is not None and not any(t >> 16 != 2 for t in self.tags):
            raise _Stop      # only meta attributes were asked for
        if self.tags is not None:
            return None
        enc = ("explicit" if event.explicit_vr else "implicit") + (
            " VR little endian" if event.little_endian else " VR big endian")
        if event.deflated:
            enc = "deflated " + enc
        return (f"{event.offset:>10} # Dicom-Data-Set: {enc} "
                f"(transfer syntax {event.transfer_syntax})")

    def trailing(self, event: Trailing) -> Optional[str]:
        size = len(event.value) if event.value is not None else "many"
        return None if self.tags is not None else f"{event.offset:>10} # trailing bytes: {size}"

    def damage(self, event: Damage) -> Optional[str]:
        if not self.visible():
            return None
        where = "/".join(format_tag(t) for t in event.path)
        return (f"{event.offset:>10} {'  ' * self.depth}# damage ({event.kind})"
                f"{' at ' + where if where else ''}: {event.message}")

    def unparsed(self, event: Unparsed) -> Optional[str]:
        if not self.visible():
            return None
        return (f"{event.offset:>10} {'  ' * self.depth}# unparsed: {event.length} bytes "
                "kept as they are")

    def deflate(self, event: DeflateInfo) -> Optional[str]:
        if self.tags is not None:
            return None
        return (f"{event.offset:>10} # deflated stream: {event.length} bytes -> "
                f"{event.inflated_length} bytes, zlib level {event.level}")

    def end(self, event: End) -> Optional[str]:
        return None if self.tags is not None else f"{event.offset:>10} # end"


def dump_lines(events: Iterable, *, width: int = 64, tags: Optional[Collection[int]] = None,
               top_level: bool = False, dictionary: Optional[Dictionary] = None) -> Iterator[str]:
    """Lines like dcmdump's, with the byte offset first (see the module doc).

    With ``tags``, the events stop being read once the data set is past the
    last tag asked for (elements come in ascending tag order).
    ``dictionary`` (``dictionary.load_dictionary``) names what the built-in
    one does not."""
    lister = _Lister(width, tags, top_level, dictionary or BUILTIN)
    handlers = lister.handlers
    try:
        for event in events:
            handler = handlers.get(type(event))
            if handler is not None:
                line = handler(event)
                if line is not None:
                    yield line
    except _Stop:
        return
