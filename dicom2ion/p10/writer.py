"""Events -> P10 bytes: the mirror of the reader.

The writer encodes headers from the events and copies values as given, so
``write(read(p10)) == p10``. It is strict: like h11's connection state, it
keeps track of where the stream stands and refuses with ``WriteError`` every
event that the state does not allow, or that a reader would read back as
something else (a length that disagrees with its value, an end without a
start, a start left open at ``End``, ...). So every event stream is either
written exactly or refused.

The events of a salvage read are written too: ``Unparsed`` bytes verbatim
wherever they stand, container ends with ``truncated`` without delimiter or
length check, and a value shorter than its declared length (the input was
cut there), after which only truncated ends, ``DeflateInfo`` and ``End`` may
follow. ``Damage`` events are diagnostics and ignored.

A defined-length sequence or item whose ``length`` is None is measured: its
bytes are gathered and its length written once known. A deflated data set
is gathered in a spooled temporary file and compressed when the
``DeflateInfo`` event tells the level.

Headers and short values reach the stream gathered into writes of about
64 KiB; a value of 4 KiB or more, and every chunk of a long one, is written
as it comes (memory stays bounded). ``write_all`` also takes batches: a
list of events in the stream is written in one loop, with the same checks.
"""

from __future__ import annotations

import io
import struct
import tempfile
import zlib
from typing import BinaryIO, Callable, Iterable, List, Optional

from ..errors import WriteError, format_tag
from ..events import (
    UNDEFINED, DataSetStart, DeflateInfo, Element, End, FileMetaStart,
    Fragment, FragmentsEnd, FragmentsStart, ItemEnd, ItemStart, Preamble,
    SequenceEnd, SequenceStart, Trailing, ValueChunk, Damage, Unparsed,
)
from .syntax import Encoding, encoding_for
from .vr import ALL_VRS, LONG_VRS, VR_FROM_BYTES
from .wire import (
    ITEM, ITEM_END, ITEM_GROUP, ITEM_TAG_LE, META_GROUP, SEQUENCE_END, TRANSFER_SYNTAX, Context,
    can_be_trailing, cut_header, detect_encoding, implicit_value_is_sequence, implicit_vr, is_null_tag_start,
    is_upper_vr, item_header, meta_is_explicit, undefined_length_opens,
)

_COPY = 1 << 20
# Small writes (headers, short values) are gathered into one bytes of at
# least _FLUSH bytes before they reach the stream; a piece of _SMALL bytes or
# more is written as it comes (after what is gathered), so large values
# stream and at most _FLUSH + _SMALL bytes wait.
_SMALL = 4096
_FLUSH = 1 << 16

# (explicit, little endian, long form) -> element header struct
_HEADER = {
    (True, True, True): struct.Struct("<HH2sHL"), (True, False, True): struct.Struct(">HH2sHL"),
    (True, True, False): struct.Struct("<HH2sH"), (True, False, False): struct.Struct(">HH2sH"),
    (False, True, False): struct.Struct("<HHL"), (False, False, False): struct.Struct(">HHL"),
}
# little endian -> the (long, short, implicit) header structs of a level
_LEVEL_HEADERS = {little: (_HEADER[True, little, True], _HEADER[True, little, False],
                           _HEADER[False, little, False]) for little in (True, False)}
_VR_FORM = {vr: vr in LONG_VRS for vr in ALL_VRS}   # VR -> long header
_VR_BYTES = {vr: vr.encode("ascii") for vr in ALL_VRS}
_VR_HEAD = {vr: (_VR_FORM[vr], _VR_BYTES[vr]) for vr in ALL_VRS}   # both, one look-up

# Kinds of nesting level.
_DATASET, _ITEM, _SEQUENCE, _FRAGMENTS = "data set", "item", "sequence", "encapsulated data"

# Phases of the stream, in order.
_START, _PREAMBLE, _META, _BODY, _TRAILING, _DEFLATED, _AFTER, _ENDED = range(8)
_PHASE_NAMES = ("before the preamble", "after the preamble", "in the file meta group",
                "in the data set", "after the trailing bytes", "after DeflateInfo",
                "after the bytes that follow the deflated stream", "after End")


class _Level:
    __slots__ = ("kind", "ctx", "tag", "length", "start", "buffer", "parent_out", "header",
                 "items", "fast", "long", "short", "implicit", "last")

    def __init__(self, kind: str, ctx: Context, tag: int = 0, length: Optional[int] = None,
                 start: int = 0, buffer=None, parent_out=None, header=None, fast: bool = False):
        self.kind = kind
        self.ctx = ctx
        self.tag = tag
        self.length = length          # declared length, UNDEFINED, or None (measured)
        self.start = start            # bytes written when the content began
        self.buffer = buffer          # BytesIO gathering a measured sequence or item
        self.parent_out = parent_out  # where the gathered bytes go
        self.header = header          # callable(length) -> header bytes
        self.items = 0
        self.last = -1                # the latest element's tag at this level
        self.fast = fast              # a whole element may be written without more checks
        self.long, self.short, self.implicit = _LEVEL_HEADERS[ctx.little]


class _Value:
    """A value arriving in chunks: what it belongs to and how much is left."""

    __slots__ = ("owner", "left", "head", "check")

    def __init__(self, owner: str, left: Optional[int], check=None):
        self.owner = owner      # names the element, fragment or trailing bytes
        self.left = left        # None for trailing bytes (no declared length)
        self.head = b""         # first bytes, for ``check``
        self.check = check      # callable(head, complete) run on the first bytes


class P10Writer:
    """Write events to a binary stream.

    ``raw_deflated`` is called with a ``DeflateInfo`` whose level is None
    and must return the original compressed bytes as an iterable of chunks.
    """

    def __init__(self, out: BinaryIO, *, raw_deflated: Optional[Callable[[DeflateInfo], Iterable[bytes]]] = None):
        self._file = out
        self._out = out
        self._gather = bytearray()         # small writes not yet handed to self._out
        self._levels: List[_Level] = [_Level(_DATASET, Context(True, True))]
        self._raw_deflated = raw_deflated
        self._spool = None
        self._phase = _START
        self._value: Optional[_Value] = None
        self._written = 0                 # bytes of content written (measured levels counted once)
        self._head: Optional[bytearray] = None  # first bytes of a file without preamble
        self._meta_elements = 0
        self._syntax: Optional[bytes] = None    # the meta group's transfer syntax value
        self._syntax_parts: Optional[list] = None
        self._data_set: Optional[DataSetStart] = None
        self._top_elements = 0            # top-level elements of the data set (0, or more)
        self._first_pending = False       # the first one's header is still to be checked
        self._cut = False                 # a value was cut short: the input ended there
        self._raw_meta = False            # unparsed bytes stand in the meta group
        self._preamble_written = False    # a preamble and "DICM" (a reader salvages after them)
    # -- refusing ------------------------------------------------------------------
    def _where(self) -> str:
        place = _PHASE_NAMES[self._phase]
        if self._phase not in (_META, _BODY) or len(self._levels) == 1:
            return place
        parts = []
        for parent, level in zip(self._levels, self._levels[1:]):
            if level.kind == _ITEM:
                parts.append(f"item {parent.items}")
            else:
                parts.append(format_tag(level.tag))
        return place + " at " + "/".join(parts)

    def _refuse(self, event, problem: str) -> WriteError:
        name = type(event).__name__
        tag = getattr(event, "tag", None)
        what = f"{name} {format_tag(tag)}" if tag is not None else name
        return WriteError(f"{what} {self._where()}: {problem}")

    # -- writing -------------------------------------------------------------------
    def _write(self, data: bytes) -> None:
        self._put(data)
        self._written += len(data)
        if self._head is not None:
            self._note_head(data)

    def _put(self, data: bytes) -> None:
        """Bytes to the stream (small ones gathered first), not counted."""
        if len(data) < _SMALL:
            gather = self._gather
            gather += data
            if len(gather) >= _FLUSH:
                self._flush_gathered()
        else:
            if self._gather:
                self._flush_gathered()
            self._out.write(data)

    def _flush_gathered(self) -> None:
        """Hand the gathered small writes to the stream (as bytes: a
        consumer may keep what it is given; the bytearray is reused)."""
        if self._gather:
            self._out.write(bytes(self._gather))
            self._gather.clear()

    def _note_head(self, data: bytes) -> None:
        """Without a preamble, bytes 128-131 must not read as "DICM"."""
        self._head += data[:132 - len(self._head)]
        if len(self._head) >= 132:
            if self._head[128:132] == b"DICM":
                raise WriteError("without a preamble the file's bytes 128-131 would read as "
                                 "the DICM prefix")
            self._head = None

    def _open(self, kind: str, ctx: Context, tag: int, length: Optional[int],
              header: Optional[Callable[[int], bytes]] = None) -> None:
        """Push a level; with ``header`` its bytes are gathered and measured."""
        fast = kind == _ITEM and self._phase == _BODY
        if header is None:
            self._levels.append(_Level(kind, ctx, tag, length, self._written, fast=fast))
            return
        buffer = io.BytesIO()
        self._flush_gathered()      # (what came before goes where it belongs)
        self._levels.append(_Level(kind, ctx, tag, length, self._written, buffer, self._out,
                                   header, fast))
        self._out = buffer

    def _close(self, trailer: bytes = b"") -> None:
        level = self._levels.pop()
        if level.buffer is not None:
            self._flush_gathered()
            content = level.buffer.getvalue()
            self._out = level.parent_out
            head = level.header(len(content))
            self._put(head)
            self._put(content)   # (counted when it was gathered)
            self._written += len(head)
        if trailer:
            self._write(trailer)

    def write(self, event) -> None:
        """Write one event, or refuse it with WriteError."""
        handler = _HANDLERS.get(type(event))
        if handler is None:
            if type(event) is Damage:
                return
            raise WriteError(f"not an event: {event!r}")
        if self._value is not None or self._cut:
            self._allowed(event)
        handler(self, event)

    def _allowed(self, event) -> None:
        """Refuse an event that may not follow an open or cut value."""
        if self._value is not None and type(event) is not ValueChunk:
            raise self._refuse(event, f"the value of {self._value.owner} is not complete "
                                      f"({self._value.left} bytes missing)")
        if self._cut and not (getattr(event, "truncated", False) or type(event) in _AFTER_CUT
                              or self._phase == _DEFLATED):
            raise self._refuse(event, "a value was cut short (the input ended there): only "
                                      "truncated ends, DeflateInfo and End may follow")

    def write_all(self, events: Iterable[object]) -> None:
        """Write a whole stream, which must finish with End. A list in the
        stream is a batch of events (``IonSource.batches`` gives them),
        written in order."""
        write = self.write
        elements = self._elements
        for event in events:
            kind = type(event)
            if kind is list:
                elements(event)
            elif kind is Element:
                elements((event,))
            else:
                write(event)
        self.close()

    def close(self) -> None:
        """The events are over: refuse a stream that did not reach End."""
        if self._phase != _ENDED:
            raise WriteError(f"the events stopped {self._where()}, before End")

    # -- element headers -----------------------------------------------------------
    def _element_header(self, event, tag: int, vr: str, length: int, raw_vr: Optional[bytes],
                        reserved: int, ctx: Context) -> bytes:
        little = ctx.little
        group, elem = tag >> 16, tag & 0xFFFF
        if not 0 <= tag <= 0xFFFFFFFF:
            raise self._refuse(event, f"tag {tag:#x} does not fit 32 bits")
        if not 0 <= length <= 0xFFFFFFFF or not 0 <= reserved <= 0xFFFF:
            raise self._refuse(event, f"length {length} or reserved {reserved} does not fit "
                                      "its header")
        if not ctx.explicit:
            if raw_vr is not None or reserved:
                raise self._refuse(event, "implicit VR has no VR bytes or reserved bytes "
                                          "to write raw_vr/reserved into")
            return _HEADER[False, little, False].pack(group, elem, length)
        if raw_vr is not None:
            if not is_upper_vr(raw_vr) or raw_vr in VR_FROM_BYTES:
                raise self._refuse(event, f"raw_vr {raw_vr!r} must be two capital letters "
                                          "that are not a VR")
            return _HEADER[True, little, True].pack(group, elem, raw_vr, reserved, length)
        long_form = _VR_FORM.get(vr)
        if long_form is None:
            raise self._refuse(event, f"unknown VR {vr!r}")
        if long_form:
            return _HEADER[True, little, True].pack(group, elem, vr.encode(), reserved, length)
        if length > 0xFFFF:
            raise self._refuse(event, f"value of {length} bytes is too long for VR {vr}")
        if reserved:
            raise self._refuse(event, f"VR {vr} has a short header without reserved bytes")
        return _HEADER[True, little, False].pack(group, elem, vr.encode(), length)

    def _check_header_place(self, event, tag: int) -> Context:
        """An element, sequence or encapsulated data may stand here: returns
        the encoding in force."""
        level = self._levels[-1]
        if self._phase not in (_META, _BODY):
            raise self._refuse(event, "no element may stand here")
        if level.kind not in (_DATASET, _ITEM):
            raise self._refuse(event, f"only items may stand in a {level.kind}")
        if tag >> 16 == ITEM_GROUP:
            raise self._refuse(event, "group FFFE holds item and delimiter tags only")
        level.last = tag
        if len(self._levels) == 1:
            if self._phase == _META and tag >> 16 != META_GROUP:
                raise self._refuse(event, "the file meta group holds group 0002 only")
            if self._phase == _BODY:
                if tag >> 16 == META_GROUP:
                    raise self._refuse(event, "group 0002 belongs in the file meta group, "
                                              "not in the data set")
                if self._top_elements == 0:
                    self._first_pending = True
                self._top_elements += 1   # (at least: the fast path does not count)
            else:
                self._meta_elements += 1
        return level.ctx

    def _check_first_header(self, event, header: bytes, force: bool = False) -> None:
        """The reader detects the encoding from the first header: it must agree."""
        if len(self._levels) != 1 and not force:
            return
        if self._phase == _META and (self._meta_elements == 1 and not self._raw_meta or force):
            if meta_is_explicit(header) != self._levels[0].ctx.explicit:
                raise self._refuse(event, "its header would make the file meta group read as "
                                          + ("implicit" if self._levels[0].ctx.explicit
                                             else "explicit") + " VR")
        elif self._phase == _BODY and (self._first_pending or force):
            self._first_pending = False
            self._check_detected(event, header[:8])

    def _check_detected(self, event, head: bytes) -> None:
        ds = self._data_set
        declared = encoding_for(ds.transfer_syntax)
        if declared is None and self._meta_elements == 0 and is_null_tag_start(head) \
                and not self._preamble_written:
            raise self._refuse(event, "a file without meta group cannot begin with tag "
                                      "(0000,0000)")
        got = detect_encoding(head, declared)
        want = Encoding(ds.explicit_vr, ds.little_endian, ds.deflated)
        if got != want:
            raise self._refuse(event, f"the data set would be read as {got.name}, "
                                      f"not {want.name}")

    # -- primitive values ------------------------------------------------------------
    def _element(self, event: Element) -> None:
        self._elements((event,))

    def _elements(self, events) -> None:
        """Write events in order (a batch, or one Element). The common case,
        a whole value in the data set once its first element is checked, is
        checked and written here in one loop; every other event takes the
        general path (``write``, ``_any_element``) with all its checks."""
        level = None                 # (looked up again after the general path)
        gather = self._gather        # (cleared, never replaced)
        written = self._written      # (kept here, stored before the general path)
        for event in events:
            if type(event) is not Element:
                self._written = written
                self.write(event)
                written = self._written
                level = None
                continue
            if level is None:
                # (what the fast path needs: it changes on the general path only)
                level = self._levels[-1]
                explicit = level.ctx.explicit
                pack_long, pack_short, pack_implicit = (level.long.pack, level.short.pack,
                                                        level.implicit.pack)
                refused = self._value is not None or self._cut
                fast = level.fast and not refused
                headless = self._head is None
            if refused:
                self._allowed(event)     # (refuses what may not stand here)
            elif fast:
                tag, vr, length, _, value, raw_vr, reserved = event
                group = tag >> 16
                if value is not None and raw_vr is None and not reserved \
                        and len(value) == length and group != ITEM_GROUP and group != META_GROUP:
                    header = None
                    if explicit:
                        form = _VR_HEAD.get(vr)
                        if form is not None:
                            if form[0]:
                                if vr != "SQ":
                                    header = pack_long(group, tag & 0xFFFF, form[1], 0, length)
                                    length += 12        # (with its header, from here on)
                            elif length <= 0xFFFF:
                                header = pack_short(group, tag & 0xFFFF, form[1], length)
                                length += 8
                    else:
                        inferred = implicit_vr(tag)
                        if inferred != "SQ" and not (inferred == "UN" and length >= 8):
                            header = pack_implicit(group, tag & 0xFFFF, length)
                            length += 8
                    if header is not None:
                        level.last = tag
                        if length < _SMALL and headless:
                            # (what _write does, without the calls)
                            gather += header
                            gather += value
                            written += length
                            if len(gather) >= _FLUSH:
                                self._flush_gathered()
                        else:
                            self._written = written
                            self._write(header)
                            self._write(value)
                            written = self._written
                            level = None
                        continue
            self._written = written
            self._any_element(event)
            if len(self._levels) == 1 and self._phase == _BODY:
                level.fast = True    # (the first element is checked; the next ones need not)
            written = self._written
            level = None
        self._written = written

    def _any_element(self, event: Element) -> None:
        tag, length = event.tag, event.length
        ctx = self._check_header_place(event, tag)
        vr = event.vr
        if length == UNDEFINED or length < 0:
            raise self._refuse(event, "an element needs a defined length")
        if ctx.explicit:
            if vr == "SQ" and event.raw_vr is None:
                raise self._refuse(event, "an SQ element is written as SequenceStart")
        else:
            vr = implicit_vr(tag)
            if vr == "SQ":
                raise self._refuse(event, "in implicit VR this tag is a sequence")
        header = self._element_header(event, tag, event.vr, length, event.raw_vr,
                                      event.reserved, ctx)
        check = None
        if not ctx.explicit and vr == "UN" and length >= 8:
            check = lambda head, complete, e=event: self._not_items(e, head, complete)  # noqa: E731
        if len(self._levels) == 1:
            self._check_first_header(event, header)
        self._write(header)
        if tag == TRANSFER_SYNTAX and self._phase == _META and len(self._levels) == 1:
            if event.value is None:
                self._syntax_parts = []
            else:
                self._syntax = event.value
        self._value_or_chunks(event, event.value, length, tag, check)

    def _not_items(self, event, head: bytes, complete: bool) -> bool:
        """An implicit VR value of an unknown tag must not start with an item tag."""
        if len(head) < 4 and not complete:
            return False
        if implicit_value_is_sequence("UN", 8, head):
            raise self._refuse(event, "in implicit VR a value of an unknown tag that starts "
                                      "with an item tag reads as a sequence")
        return True

    def _value_or_chunks(self, event, value: Optional[bytes], length: int, tag: int,
                         check=None, prefix: str = "") -> None:
        """A whole value, checked and written, or the start of one in chunks
        (``prefix`` + the tag name what it belongs to, in messages)."""
        if value is not None:
            if len(value) > length:
                raise self._refuse(event, f"length {length} disagrees with its value of "
                                          f"{len(value)} bytes")
            if len(value) < length:
                self._cut = True      # the input ended inside this value
            if check is not None:
                check(value, True)
            self._write(value)
            return
        if length == 0:
            raise self._refuse(event, "an empty value is given as b'', not in chunks")
        self._value = _Value(prefix + format_tag(tag), length, check)

    def _chunk(self, event: ValueChunk) -> None:
        value = self._value
        if value is None:
            raise self._refuse(event, "no value is open (a chunk follows an Element, Fragment "
                                      "or Trailing whose value is None)")
        data = event.data
        if value.left is not None:
            if len(data) > value.left:
                raise self._refuse(event, f"{len(data)} bytes, but the value of {value.owner} "
                                          f"has only {value.left} left")
            value.left -= len(data)
            if not event.last and value.left == 0:
                raise self._refuse(event, f"last={event.last}, but the value of {value.owner} "
                                          f"has {value.left} bytes left")
            if event.last and value.left:
                self._cut = True      # the input ended inside this value
        if value.check is not None:
            value.head += data[:16]
            if value.check(value.head, event.last):
                value.check = None
        if self._syntax_parts is not None:
            self._syntax_parts.append(data)
            if event.last:
                self._syntax, self._syntax_parts = b"".join(self._syntax_parts), None
        self._write(data)
        if event.last:
            self._value = None

    # -- sequences ---------------------------------------------------------------------
    def _sequence_start(self, event: SequenceStart) -> None:
        tag, length = event.tag, event.length
        ctx = self._check_header_place(event, tag)
        if event.raw_vr is not None:
            raise self._refuse(event, "invalid VR bytes of undefined length open encapsulated "
                                      "data, not a sequence")
        if ctx.explicit:
            if event.vr not in ("SQ", "UN"):
                raise self._refuse(event, f"a sequence in explicit VR is SQ or UN, not {event.vr}")
            if event.vr == "UN" and length != UNDEFINED:
                raise self._refuse(event, "a UN sequence needs undefined length")
        else:
            self._implicit_sequence(event, tag, length, ctx)
        inner = ctx.inside(event.vr, length)
        if length is None:
            first = len(self._levels) == 1 and (self._first_pending or self._phase == _META
                                                and self._meta_elements == 1)
            self._first_pending = False
            self._open(_SEQUENCE, inner, tag, None,
                       lambda n, e=event, c=ctx: self._measured_header(e, n, c, first))
            return
        if length < 0 or length > UNDEFINED:
            raise self._refuse(event, f"length {length} does not fit 4 bytes")
        header = self._element_header(event, tag, event.vr, length, None, event.reserved, ctx)
        self._check_first_header(event, header)
        self._write(header)
        self._open(_SEQUENCE, inner, tag, length)

    def _measured_header(self, event, length: int, ctx: Context, first: bool) -> bytes:
        header = self._element_header(event, event.tag, event.vr, length, None, event.reserved,
                                      ctx)
        if first:     # (the level is closed: the first top-level header is checked now)
            self._check_first_header(event, header, force=True)
        return header

    def _implicit_sequence(self, event, tag: int, length: Optional[int], ctx: Context) -> None:
        """In implicit VR only the dictionary and the bytes tell a sequence."""
        vr = implicit_vr(tag)
        if length == UNDEFINED:
            if undefined_length_opens(tag, vr, None, False)[0] != "sequence":
                raise self._refuse(event, "in implicit VR an undefined length on this tag "
                                          "opens encapsulated data")
        elif vr != "SQ" and not (vr == "UN" and ctx.little):
            raise self._refuse(event, "in implicit VR a defined-length sequence needs a tag "
                                      "whose dictionary VR is SQ (or an unknown tag, little "
                                      "endian)")
        elif vr != "SQ" and length is not None \
                and not implicit_value_is_sequence(vr, length, ITEM_TAG_LE):
            raise self._refuse(event, f"in implicit VR a sequence of an unknown tag with length "
                                      f"{length} reads as an element, not a sequence")

    def _item_start(self, event: ItemStart) -> None:
        level = self._levels[-1]
        if self._phase != _BODY and self._phase != _META or level.kind != _SEQUENCE:
            raise self._refuse(event, "an item stands in a sequence only")
        if level.length is not None and level.length != UNDEFINED \
                and self._written - level.start >= level.length:
            raise self._refuse(event, f"the sequence's declared length {level.length} "
                                      "ends before this item")
        level.items += 1
        length = event.length
        ctx = level.ctx
        if length is None:
            self._open(_ITEM, ctx, ITEM, None, lambda n, lt=ctx.little: item_header(ITEM, n, lt))
            return
        if length < 0 or length > UNDEFINED:
            raise self._refuse(event, f"length {length} does not fit 4 bytes")
        self._write(item_header(ITEM, length, ctx.little))
        self._open(_ITEM, ctx, ITEM, length)

    def _check_end(self, event, kind: str, delimited: bool, length: int) -> _Level:
        level = self._levels[-1]
        if level.kind != kind or len(self._levels) == 1:
            raise self._refuse(event, f"no {kind} is open")
        if event.truncated:
            if delimited or length:
                raise self._refuse(event, "a truncated end has no delimiter")
            if level.buffer is not None:
                raise self._refuse(event, f"a truncated {kind} needs its declared length")
            return level
        if delimited != (level.length == UNDEFINED):
            raise self._refuse(event, f"a {kind} of "
                                      + ("undefined" if level.length == UNDEFINED else "defined")
                                      + " length " + ("needs" if not delimited else "has no")
                                      + " delimiter")
        if length and not delimited:
            raise self._refuse(event, "a delimiter length without a delimiter")
        return level

    def _item_end(self, event: ItemEnd) -> None:
        level = self._check_end(event, _ITEM, event.delimited, event.length)
        content = self._written - level.start
        if level.length is not None and level.length != UNDEFINED and content != level.length \
                and not event.truncated:
            raise self._refuse(event, f"the item holds {content} bytes, its header says "
                                      f"{level.length}")
        self._close(item_header(ITEM_END, event.length, level.ctx.little)
                    if event.delimited else b"")

    def _sequence_end(self, event: SequenceEnd) -> None:
        level = self._check_end(event, _SEQUENCE, event.delimited, event.length)
        content = self._written - level.start
        # (more than declared is what a salvage read gives for an item that runs past
        # its sequence's end: written as it was)
        if level.length is not None and level.length != UNDEFINED and content < level.length \
                and not event.truncated:
            raise self._refuse(event, f"the sequence holds {content} bytes, its header says "
                                      f"{level.length}")
        if not level.ctx.explicit and level.length != UNDEFINED and level.items == 0 \
                and implicit_vr(level.tag) != "SQ" and not event.truncated:
            raise self._refuse(event, "in implicit VR an empty defined-length sequence of an "
                                      "unknown tag reads as an empty element")
        self._close(item_header(SEQUENCE_END, event.length, level.ctx.little)
                    if event.delimited else b"")

    # -- encapsulated data -------------------------------------------------------------
    def _fragments_start(self, event: FragmentsStart) -> None:
        tag = event.tag
        ctx = self._check_header_place(event, tag)
        vr = event.vr if ctx.explicit else implicit_vr(tag)
        raw_vr = event.raw_vr if ctx.explicit else None
        if undefined_length_opens(tag, vr, raw_vr, ctx.explicit)[0] != "fragments":
            raise self._refuse(event, f"an undefined length on VR {vr} does not open "
                                      "encapsulated data")
        header = self._element_header(event, tag, event.vr, UNDEFINED, event.raw_vr,
                                      event.reserved, ctx)
        self._check_first_header(event, header)
        self._write(header)
        self._open(_FRAGMENTS, ctx, tag, UNDEFINED)

    def _fragment(self, event: Fragment) -> None:
        level = self._levels[-1]
        if level.kind != _FRAGMENTS or self._phase not in (_META, _BODY):
            raise self._refuse(event, "a fragment stands in encapsulated data only")
        length = event.length
        if length < 0 or length >= UNDEFINED:
            raise self._refuse(event, "a fragment needs a defined length")
        self._write(item_header(ITEM, length, level.ctx.little))
        self._value_or_chunks(event, event.value, length, level.tag, prefix="a fragment of ")

    def _fragments_end(self, event: FragmentsEnd) -> None:
        level = self._levels[-1]
        if level.kind != _FRAGMENTS or self._phase not in (_META, _BODY):
            raise self._refuse(event, "no encapsulated data is open")
        if event.truncated:
            if event.length:
                raise self._refuse(event, "a truncated end has no delimiter")
            self._close()
            return
        self._close(item_header(SEQUENCE_END, event.length, level.ctx.little))

    # -- unparsed bytes -----------------------------------------------------------------
    def _unparsed(self, event: Unparsed) -> None:
        if self._phase not in (_META, _BODY):
            raise self._refuse(event, "unparsed bytes stand in the meta group or the data set")
        length = event.length
        if length < 0 or (event.value is not None and len(event.value) != length):
            raise self._refuse(event, f"length {length} disagrees with its bytes")
        if len(self._levels) == 1:
            self._levels[0].fast = False
            if self._phase == _META:
                self._raw_meta = True          # (the first meta header is not checked)
            elif self._top_elements == 0:
                self._top_elements = 1         # (nor the first data set header)
        if event.value is not None:
            self._write(event.value)
        elif length:
            self._value = _Value("unparsed bytes", length)

    # -- the file ----------------------------------------------------------------------
    def _preamble(self, event: Preamble) -> None:
        if self._phase != _START:
            raise self._refuse(event, "the preamble comes first, once")
        self._phase = _PREAMBLE
        if event.data is None:
            self._head = bytearray()
            return
        if len(event.data) != 128:
            raise self._refuse(event, f"a preamble is 128 bytes, not {len(event.data)}")
        self._write(event.data + b"DICM")
        self._preamble_written = True

    def _meta_start(self, event: FileMetaStart) -> None:
        if self._phase != _PREAMBLE:
            raise self._refuse(event, "the file meta group follows the preamble")
        if not event.little_endian:
            raise self._refuse(event, "the file meta group is little endian")
        self._phase = _META
        self._levels = [_Level(_DATASET, Context(event.explicit_vr, True), 0, None,
                               self._written)]

    def _data_set_start(self, event: DataSetStart) -> None:
        if self._phase not in (_PREAMBLE, _META) or len(self._levels) != 1:
            raise self._refuse(event, "the data set follows the preamble or the meta group")
        if self._phase == _META and not self._meta_elements and not self._raw_meta:
            raise self._refuse(event, "the file meta group is empty")
        declared = None
        if self._syntax is not None:
            declared = self._syntax.decode("ascii", "replace").rstrip("\0 ")
        if event.transfer_syntax != declared:
            raise self._refuse(event, f"transfer syntax {event.transfer_syntax!r}, but the "
                                      f"meta group declares {declared!r}")
        syntax = encoding_for(declared)
        if event.deflated != bool(syntax and syntax.deflated):
            raise self._refuse(event, "deflated must match the declared transfer syntax")
        self._phase = _BODY
        self._data_set = event
        meta_last = self._levels[0].last
        self._levels = [_Level(_DATASET, Context(event.explicit_vr, event.little_endian), 0,
                               None, self._written)]
        self._levels[0].last = meta_last    # (the reader's latest top-level tag spans both)
        if event.deflated:
            self._flush_gathered()
            self._spool = tempfile.SpooledTemporaryFile(max_size=64 << 20)
            self._out = self._spool

    def _trailing(self, event: Trailing) -> None:
        if self._phase == _DEFLATED:     # bytes after the compressed stream: any
            self._phase = _AFTER
            if event.value is None:
                self._value = _Value("trailing bytes", None)
            else:
                self._write(event.value)
            return
        if self._phase != _BODY or len(self._levels) != 1:
            raise self._refuse(event, "trailing bytes follow the data set's last element")
        if not (self._top_elements or self._meta_elements):
            raise self._refuse(event, "trailing bytes need an element before them")
        self._phase = _TRAILING
        self._levels[0].fast = False
        explicit = self._levels[0].ctx.explicit
        after = self._top_elements > 0
        check = lambda head, complete, e=event: self._check_trailing(  # noqa: E731
            e, head, complete, explicit, after)
        if event.value is not None:
            if not event.value:
                raise self._refuse(event, "no bytes")
            check(event.value, True)
            self._write(event.value)
            return
        self._value = _Value("trailing bytes", None, check)

    def _check_trailing(self, event, head: bytes, complete: bool, explicit: bool,
                        after_element: bool) -> bool:
        if len(head) < 8 and not complete:
            return False
        if not can_be_trailing(head[:8], explicit, after_element):
            raise self._refuse(event, "these bytes would be read as an element")
        if complete and len(head) < 8 and cut_header(head, self._levels[0].ctx.little, explicit,
                                                     self._levels[0].last):
            raise self._refuse(event, "these bytes would be read as an element header cut "
                                      "by the end of the input")
        return True

    def _deflate_info(self, event: DeflateInfo) -> None:
        if self._phase not in (_BODY, _TRAILING) or len(self._levels) != 1 \
                or self._spool is None:
            raise self._refuse(event, "DeflateInfo ends a deflated data set")
        self._check_empty_data_set(event)
        self._phase = _DEFLATED
        self._levels[0].fast = False
        spool, self._spool = self._spool, None
        self._flush_gathered()
        self._out = self._file
        if event.level is None:
            if self._raw_deflated is None:
                raise WriteError("the deflated data set cannot be recompressed identically "
                                 "and its original compressed bytes were not provided")
            for chunk in self._raw_deflated(event):
                self._write(chunk)
            return
        spool.seek(0)
        comp = zlib.compressobj(event.level, zlib.DEFLATED, -15)
        for chunk in iter(lambda: spool.read(_COPY), b""):
            self._write(comp.compress(chunk))
        self._write(comp.flush())
        spool.close()

    def _check_empty_data_set(self, event) -> None:
        """A data set without elements is read in the declared encoding."""
        if self._top_elements or self._data_set is None:
            return
        if not self._meta_elements and not self._raw_meta and not self._preamble_written:
            raise self._refuse(event, "a file needs a meta group or an element")
        self._check_detected(event, b"")

    def _end(self, event: End) -> None:
        if self._phase in (_START, _PREAMBLE, _META, _ENDED):
            raise self._refuse(event, "the stream has no data set" if self._phase != _ENDED
                               else "the stream has ended")
        if len(self._levels) != 1:
            level = self._levels[-1]
            raise self._refuse(event, f"a {level.kind} ({format_tag(level.tag)}) is still open")
        if self._spool is not None:
            raise self._refuse(event, "a deflated data set needs DeflateInfo")
        if self._phase in (_BODY, _TRAILING):
            self._check_empty_data_set(event)
        if self._head is not None and len(self._head) >= 132:
            self._note_head(b"")
        self._phase = _ENDED
        self._levels[0].fast = False
        self._flush_gathered()
        if hasattr(self._out, "flush"):
            self._out.flush()


_HANDLERS = {
    Element: P10Writer._element, ValueChunk: P10Writer._chunk,
    SequenceStart: P10Writer._sequence_start, ItemStart: P10Writer._item_start,
    ItemEnd: P10Writer._item_end, SequenceEnd: P10Writer._sequence_end,
    FragmentsStart: P10Writer._fragments_start, Fragment: P10Writer._fragment,
    FragmentsEnd: P10Writer._fragments_end, Preamble: P10Writer._preamble,
    FileMetaStart: P10Writer._meta_start, DataSetStart: P10Writer._data_set_start,
    Trailing: P10Writer._trailing, DeflateInfo: P10Writer._deflate_info, End: P10Writer._end,
    Unparsed: P10Writer._unparsed,
}
# what may follow a value cut short (besides ends with ``truncated``)
_AFTER_CUT = (DeflateInfo, End, DataSetStart)


def write_events(events: Iterable[object], out: Optional[BinaryIO] = None, **options):
    """Write events to ``out``; with no ``out``, return the bytes."""
    if out is None:
        buffer = io.BytesIO()
        P10Writer(buffer, **options).write_all(events)
        return buffer.getvalue()
    P10Writer(out, **options).write_all(events)
    return None
