"""A sans-IO DICOM Part 10 reader: fed byte chunks, it yields events.

    reader = P10Reader()
    for chunk in chunks:
        reader.feed(chunk)
        for event in reader.events():
            ...
    reader.close()
    for event in reader.events():
        ...

The events do not depend on how the input was cut into chunks. Values
longer than ``chunk_threshold`` arrive as ``ValueChunk`` events of
``chunk_size`` bytes, so memory stays bounded whatever the file size.
``batches()`` gives the same events in lists (a run of elements of one data
set in one list), for consumers that take them a run at a time.

With ``strict=True`` (the default) every place where the input breaks the
grammar raises ``DicomParseError``. With ``strict=False`` (a salvage read)
each such place yields a ``Damage`` event and the bytes there are kept in
place as ``Unparsed`` events, up to where the structure makes sense again
(``wire.find_resync``); containers still open at the end of the input close
with ``truncated=True``, and a value cut by the end of the input keeps its
declared length with the bytes that are there. Input that is not DICOM at
all is refused in both modes. The salvage costs nothing on well-formed
input: it starts where the strict reader would raise.
"""

from __future__ import annotations

import hashlib
import struct
import zlib
from typing import Iterator, List, Optional

from ..errors import DicomParseError
from ..hashing import sha256_for
from ..events import (
    UNDEFINED, DataSetStart, DeflateInfo, Element, End, FileMetaStart,
    Fragment, FragmentsEnd, FragmentsStart, ItemEnd, ItemStart, Preamble,
    SequenceEnd, SequenceStart, Trailing, ValueChunk, Damage, Unparsed,
)
from .syntax import Encoding, encoding_for
from .wire import (
    ITEM, ITEM_END, ITEM_GROUP, SEQUENCE_END, TRANSFER_SYNTAX, VR_TABLE, Context,
    can_be_trailing, cut_header,
    detect_encoding, implicit_value_is_sequence, implicit_vr, is_null_tag_start,
    meta_is_explicit, read_vr, starts_meta_group, undefined_length_opens, find_resync,
    elements_follow,
    META_GROUP_LENGTH,
)

_LE_HH = struct.Struct("<HH")
_BE_HH = struct.Struct(">HH")
_LE_HHL = struct.Struct("<HHL")
_BE_HHL = struct.Struct(">HHL")
_LE_H = struct.Struct("<H")
_BE_H = struct.Struct(">H")
_LE_HL = struct.Struct("<HL")
_BE_HL = struct.Struct(">HL")
_LE_HH2SH = struct.Struct("<HH2sH")    # tag, VR bytes, short length
_BE_HH2SH = struct.Struct(">HH2sH")
_new = tuple.__new__      # Element(...) without the NamedTuple's Python-level __new__

# Frame kinds on the nesting stack.
_DATASET, _ITEM, _SEQUENCE, _FRAGMENTS = range(4)

# Phases of the reader.
_PREAMBLE, _META_START, _META, _BODY_START, _BODY, _VALUE, _TRAILING, _DONE, _RAW = range(9)
_CONTAINER = {_DATASET: "data set", _ITEM: "data set", _SEQUENCE: "sequence",
              _FRAGMENTS: "fragments"}
_INFLATE_STEP = 1 << 20   # inflated bytes made at a time (a deflate bomb stays bounded)

_DEFLATE_CHECK_LIMIT = 64 * 1024 * 1024
_DEFLATE_LEVELS = (6, 9, 1, 2, 3, 4, 5, 7, 8, 0)


class _Frame:
    __slots__ = ("kind", "end", "explicit", "little", "tag")

    def __init__(self, kind: int, end: Optional[int], explicit: bool, little: bool, tag: int):
        self.kind = kind
        self.end = end          # absolute end offset, None when undefined length
        self.explicit = explicit
        self.little = little
        self.tag = tag


class P10Reader:
    """Incremental P10 parser. ``feed`` bytes, ``close`` at end of input,
    and iterate ``events()`` after each call."""

    def __init__(self, *, name: Optional[str] = None, chunk_threshold: int = 1 << 20,
                 chunk_size: int = 1 << 20, max_depth: int = 64,
                 total_size: Optional[int] = None, strict: bool = True,
                 max_problems: int = 1000):
        self.name = name              # names the input in error messages
        self.total_size = total_size  # when known, impossible lengths fail at once
        self.chunk_threshold = chunk_threshold  # longer values arrive in chunks
        self.chunk_size = chunk_size
        self.max_depth = max_depth
        self.strict = strict          # raise at the first problem, else salvage
        self.max_problems = max_problems  # then the rest of the input is kept raw
        self._problems = 0
        self._cut = False        # the end of the input inside something was reported
        self._give_up = False    # too many problems: no more resynchronising
        self._dicm = False       # the input had the "DICM" prefix
        self._body_offset = 0    # where the data set starts
        self._raw_start = 0      # salvage: start of the raw bytes not yet emitted
        self._raw_scan = 0       # salvage: no resync point before this offset
        self._raw_stray = False  # salvage: exactly one stray 8-byte header
        self._raw_resume = _BODY
        self._meta_length = None  # (offset, end, value) of the meta group length
        self._meta_offset = -1
        self._late: list = []    # damage found while feeding (deflate)
        self._streaming_trailing = False
        self._deflate_in = b""   # compressed bytes not inflated yet
        self._deflate_broken = False
        self._flushed = False
        self._buf = b""
        self._pos = 0            # read position in _buf
        self._base = 0           # absolute offset of _buf[0] (parse stream)
        self._eof = False        # no more bytes will reach the parse buffer
        self._closed = False     # close() was called
        self._phase = _PREAMBLE
        self._stack: List[_Frame] = []
        self._path: List[int] = []
        self._remaining = 0      # bytes left of a chunked value
        self._hash = sha256_for(total_size)
        self._size = 0
        self.transfer_syntax: Optional[str] = None
        self.encoding: Optional[Encoding] = None
        self._meta_encoding = Encoding(True, True)
        # deflate state
        self._inflater = None
        self._raw_offset = 0     # file offset where the compressed stream starts
        self._raw_seen = 0       # compressed bytes fed so far
        self._raw_keep: Optional[list] = None
        self._inflated_keep: Optional[list] = None
        self._inflated_total = 0
        self._raw_tail = b""     # bytes after the end of the compressed stream
        self._raw_hash = hashlib.sha256()
        self._pending: list = []
        self._queued: list = []
        self._queued_len = 0
        self._resume = _BODY     # phase to return to after a chunked value
        self._seen_element = False
        self._had_meta = False
        self._last_tag = -1      # the latest top-level tag (meta group or data set)
        self._syntax_parts: Optional[list] = None

    # -- input -------------------------------------------------------------
    def feed(self, data: bytes) -> None:
        if self._closed:
            raise RuntimeError("feed() after close()")
        if not data:
            return
        data = bytes(data)
        self._hash.update(data)
        self._size += len(data)
        if self._inflater is not None:
            self._deflate_in += data     # inflated as the parser needs it
        else:
            self._append(data)

    def close(self) -> None:
        """Mark the end of the input."""
        self._closed = True
        if self._inflater is None:
            self._eof = True      # (inflated data ends once the stream is inflated)

    @property
    def sha256(self) -> str:
        """Hex SHA-256 of the whole input (call once the input is closed)."""
        return self._hash.hexdigest()

    @property
    def size(self) -> int:
        return self._size

    def _append(self, data: bytes) -> None:
        # Queue the bytes; they join the parse buffer once they are at least as
        # many as the bytes already waiting (so many tiny chunks stay linear).
        self._queued.append(data)
        self._queued_len += len(data)

    def _join_queued(self) -> None:
        data = b"".join(self._queued) if len(self._queued) > 1 else self._queued[0]
        self._queued = []
        self._queued_len = 0
        pos = self._pos
        if pos:
            # (one copy of what is left and the new bytes, not a slice and then a sum)
            self._buf = b"".join((memoryview(self._buf)[pos:], data))
            self._base += pos
            self._pos = 0
        elif self._buf:
            self._buf += data
        else:
            self._buf = data

    # -- deflate -----------------------------------------------------------
    def _start_inflate(self) -> None:
        if self._queued:
            self._join_queued()
        rest = self._buf[self._pos:]
        self._raw_offset = self._base + self._pos
        self._buf = b""
        self._base = self._raw_offset
        self._pos = 0
        self._inflater = zlib.decompressobj(-15)
        self._raw_keep = []
        self._inflated_keep = []
        self._deflate_in = rest
        self._eof = False
        while self._available() < 8 and self._pump():
            pass

    def _pump(self) -> bool:
        """Inflate at most ``_INFLATE_STEP`` more bytes into the parse buffer
        (so a small stream that inflates to gigabytes is never held whole).
        False when there is nothing more to inflate now."""
        inflater = self._inflater
        data = self._deflate_in
        if inflater.eof or self._deflate_broken:
            if data:
                if self._deflate_broken:      # the rest belongs to the broken stream
                    self._raw_used(data)
                else:
                    self._raw_tail += data
                self._deflate_in = b""
            return self._inflated_end()
        if data:
            try:
                out = inflater.decompress(data, _INFLATE_STEP)
            except zlib.error as exc:
                message = f"deflated data set is corrupt ({exc})"
                if self.strict:
                    raise self._error(message) from None
                self._late.append(Damage(self._raw_offset + self._raw_seen, (), "deflate",
                                         message + ": the compressed bytes are kept as they are"))
                self._deflate_broken = True
                self._raw_used(data)
                self._deflate_in = b""
                return True
            rest = inflater.unconsumed_tail
            used = len(data) - len(rest)
            if inflater.eof and inflater.unused_data:
                self._raw_tail += inflater.unused_data
                used -= len(inflater.unused_data)
                rest = b""
            self._raw_used(data[:used] if used != len(data) else data)
            self._deflate_in = rest
        elif self._closed and not self._flushed:
            self._flushed = True
            out = inflater.flush()
        else:
            return self._inflated_end()
        if out:
            self._inflated_total += len(out)
            if self._inflated_keep is not None:
                self._inflated_keep.append(out)
                if self._inflated_total > _DEFLATE_CHECK_LIMIT:
                    self._inflated_keep = self._raw_keep = None
            self._append(out)
        if self._queued:
            self._join_queued()
        return True

    def _inflated_end(self) -> bool:
        """Once the input is closed and inflated, the parse buffer is complete."""
        if self._closed and not self._eof:
            self._eof = True
            return True
        return False

    def _raw_used(self, used: bytes) -> None:
        """Compressed bytes that belong to the deflate stream."""
        self._raw_seen += len(used)
        self._raw_hash.update(used)
        if self._raw_keep is not None:
            self._raw_keep.append(used)

    def _deflate_info(self) -> DeflateInfo:
        level = None
        raw = None
        if self._raw_keep is not None and (self._deflate_broken or not self._inflater.eof):
            raw = b"".join(self._raw_keep)     # (a damaged stream: kept as it is)
        elif self._inflated_keep is not None and self._raw_keep is not None:
            raw = b"".join(self._raw_keep)
            inflated = b"".join(self._inflated_keep)
            for candidate in _DEFLATE_LEVELS:
                comp = zlib.compressobj(candidate, zlib.DEFLATED, -15)
                if comp.compress(inflated) + comp.flush() == raw:
                    level = candidate
                    raw = None
                    break
        self._raw_keep = self._inflated_keep = None
        return DeflateInfo(self._raw_offset, self._raw_seen, level, self._inflated_total,
                           self._raw_hash.hexdigest(), raw)

    # -- errors ------------------------------------------------------------
    def _error(self, message: str, offset: Optional[int] = None, tag: Optional[int] = None) -> DicomParseError:
        if offset is None:
            offset = self._base + self._pos
        path = list(self._path)
        if tag is not None:
            path.append(tag)
        return DicomParseError(message, offset, path, self.name)

    # -- salvage -----------------------------------------------------------
    def _salvaging(self, offset: int) -> bool:
        """Damage at ``offset`` is salvaged (not raised): not strict, and the
        input is DICOM (a "DICM" prefix, a meta group, or a first element read)."""
        return not self.strict and (self._dicm or self._had_meta or offset > self._body_offset)

    def _fail(self, message: str, offset: int, tag: Optional[int] = None,
              kind: str = "unparsed", skip: int = 1, stray: bool = False):
        """Where the strict grammar fails: raise (strict), or report the damage
        and keep the bytes from ``offset`` raw, up to the next point where the
        structure makes sense (at least ``skip`` bytes; exactly the 8-byte
        header when ``stray``). Returns the Damage event."""
        if not self._salvaging(offset):
            raise self._error(message, offset, tag)
        path = tuple(self._path) + ((tag,) if tag is not None else ())
        self._problems += 1
        if self._problems > self.max_problems and not self._give_up:
            self._give_up = True
            kind, stray = "too-many-problems", False
            message = (f"more than {self.max_problems} problems: the rest of the input is "
                       f"kept as raw bytes (first: {message})")
        if kind == "truncated":
            self._cut = True
        self._pos = offset - self._base
        self._raw_start = offset
        self._raw_scan = offset + (8 if stray else max(1, skip))
        self._raw_stray = stray
        if self._phase != _RAW:
            self._raw_resume = _META if self._phase == _META else _BODY
        self._phase = _RAW
        return Damage(offset, path, kind, message)

    def _raw(self):
        """Emit the raw bytes of a salvage up to the resync point."""
        frame = self._stack[-1]
        base = self._base
        have = base + len(self._buf)
        start = self._raw_start
        limit = frame.end
        if self._give_up:
            limit = None
        stop = have if limit is None else min(limit, have)
        known_end = self._eof or (limit is not None and limit <= have)
        if self._raw_stray:
            found = min(start + 8, stop)
        elif self._give_up:
            found = stop if self._eof else None
        else:
            room = limit
            if room is None:
                room = have if self._eof else (
                    self.total_size if self.total_size is not None and self._inflater is None
                    else 1 << 62)
            scan_end = stop if known_end else have - 12
            found = None
            if scan_end > self._raw_scan:
                kind = frame.kind
                found = find_resync(self._buf, self._raw_scan - base, scan_end - base,
                                    room - base, Context(frame.explicit, frame.little),
                                    _CONTAINER[kind],
                                    self._last_tag if len(self._stack) == 1 else -1,
                                    kind == _ITEM and frame.end is None)
                if found is not None:
                    found += base
                else:
                    self._raw_scan = scan_end
            if found is None and known_end:
                found = stop
        if found is None:
            # not yet known where the damage ends: emit what is scanned (bounded memory)
            upto = min(self._raw_scan, have - 12)
            if upto - start < self.chunk_size:
                return None
            found = upto
            resume = False
        else:
            resume = True
            if found <= start:      # (never loop on the same bytes)
                found = min(start + 1, have)
        p = start - base
        n = found - start
        self._pos = p + n
        self._raw_start = found
        if resume:
            self._phase = self._raw_resume
        if n <= self.chunk_threshold:
            return Unparsed(start, n, self._buf[p:p + n])
        buf, size = self._buf, self.chunk_size
        self._pending[0:0] = [ValueChunk(buf[i:min(i + size, p + n)], i + size >= p + n)
                              for i in range(p, p + n, size)]
        return Unparsed(start, n, None)

    def _close_truncated(self, frame: _Frame, absolute: int):
        """Close a container that the end of the input (or the damage) cut."""
        self._stack.pop()
        kind = frame.kind
        if kind == _ITEM:
            return ItemEnd(absolute, False, 0, True)
        self._path.pop()
        if kind == _SEQUENCE:
            return SequenceEnd(absolute, False, 0, True)
        return FragmentsEnd(absolute, 0, True)

    def _cut_value(self, message: str, offset: int, tag: int, event):
        """A value cut by the end of the input: the damage, then ``event``."""
        if not self._salvaging(offset):
            raise self._error(message, offset, tag)
        self._problems += 1
        self._cut = True
        if type(event) is Element and event.tag == TRANSFER_SYNTAX and self._phase == _META \
                and len(self._stack) == 1:
            self._set_transfer_syntax(event.value)   # (what a writer of these bytes declares)
        self._pending.append(event)
        return Damage(offset, tuple(self._path) + (tag,), "truncated", message)

    # -- output ------------------------------------------------------------
    def events(self) -> Iterator[object]:
        """Yield every event the input fed so far allows."""
        for batch in self.batches():
            yield from batch

    def batches(self) -> Iterator[list]:
        """``events()`` in lists: a list of more than one event holds
        consecutive Elements of one data set or item (whole, short values);
        every other event comes in a list of its own."""
        if self._queued and (self._eof or self._queued_len >= len(self._buf) - self._pos
                             or self._queued_len >= 1 << 16):
            self._join_queued()
        step = self._step
        body = self._body
        run = self._run
        while True:
            if self._pending:
                yield [self._pending.pop(0)]
                continue
            if self._phase == _BODY:            # (_step's first case)
                batch = run()
                if batch:
                    yield batch
                event = body()                  # the element the run stopped at
            else:
                event = step()
            if event is None:
                if self._inflater is not None and self._pump():
                    continue
                return
            yield [event]

    def _available(self) -> int:
        return len(self._buf) - self._pos

    def _step(self):
        phase = self._phase
        if phase == _BODY:
            return self._body()
        if phase == _VALUE:
            return self._value_chunk()
        if phase == _PREAMBLE:
            return self._preamble()
        if phase == _META_START:
            return self._meta_start()
        if phase == _META:
            return self._meta()
        if phase == _BODY_START:
            return self._body_start()
        if phase == _TRAILING:
            return self._trailing()
        if phase == _RAW:
            return self._raw()
        return None

    def _preamble(self):
        if self._available() < 132 and not self._eof:
            return None
        buf = self._buf
        self._phase = _META_START
        if buf[128:132] == b"DICM":
            self._dicm = True
            self._pos = 132
            return Preamble(buf[:128])
        return Preamble(None)

    def _meta_start(self):
        if self._available() < 6 and not self._eof:
            return None
        buf, p = self._buf, self._pos
        if self._available() >= 6 and starts_meta_group(buf[p:p + 6]):
            explicit = meta_is_explicit(buf[p:p + 6])
            self._meta_encoding = Encoding(explicit, True)
            self._meta_offset = self._base + p   # (a group length here counts what follows)
            self._stack = [_Frame(_DATASET, None, explicit, True, 0)]
            self._phase = self._resume = _META
            self._had_meta = True
            return FileMetaStart(self._base + p, explicit, True)
        self._phase = _BODY_START
        return self._body_start()

    def _meta(self):
        if len(self._stack) > 1:        # inside a sequence of the meta group
            return self._body()
        if self._available() < 4:
            if not self._eof:
                return None
            self._phase = _BODY_START
            return self._body_start()
        if not starts_meta_group(self._buf[self._pos:self._pos + 4]):
            self._phase = _BODY_START
            return self._body_start()
        event = self._body()
        if type(event) in (SequenceStart, FragmentsStart):
            # meta elements are primitive; a container here would leave the
            # meta group (ended by the first tag outside group 0002) open
            header = self._base + self._pos - event.offset
            if not self.strict:
                self._stack.pop()
                self._path.pop()
            return self._fail("the file meta group cannot hold a sequence or an "
                              "undefined-length value", event.offset, kind="meta-group",
                              skip=header)
        if type(event) is Element and event.tag == META_GROUP_LENGTH and event.value is not None \
                and len(event.value) == 4 and self._meta_length is None \
                and event.offset == self._meta_offset:
            self._meta_length = (event.offset, self._base + self._pos,
                                 int.from_bytes(event.value, "little"))
        if type(event) is Element and event.tag == TRANSFER_SYNTAX:
            if event.value is not None:
                self._set_transfer_syntax(event.value)
            else:           # the UID arrives in chunks (a tiny inline limit)
                self._syntax_parts = []
        return event

    def _set_transfer_syntax(self, value: bytes) -> None:
        self.transfer_syntax = value.decode("ascii", "replace").rstrip("\0 ")

    def _body_start(self):
        if self._available() < 8 and not self._eof:
            return None
        if self._meta_length is not None:
            offset, after, declared = self._meta_length
            self._meta_length = None
            held = self._base + self._pos - after
            # (a meta group cut by the end of the input is reported as that)
            if held != declared and not self._cut and not (self._eof and
                                                           self._available() < 8):
                message = (f"FileMetaInformationGroupLength is {declared}, but the meta group "
                           f"holds {held} bytes after it")
                if self.strict:
                    raise self._error(message, offset, META_GROUP_LENGTH)
                self._problems += 1
                return Damage(offset, (META_GROUP_LENGTH,), "meta-group", message)
        declared = encoding_for(self.transfer_syntax)
        if declared is not None and declared.deflated and self._inflater is None:
            self._start_inflate()
            if self._available() < 8 and not self._eof:
                return None
        head = self._buf[self._pos:self._pos + 8]
        encoding = detect_encoding(head, declared)
        if declared is None and is_null_tag_start(head) and (self.strict or not self._dicm):
            raise self._error("not a DICOM file: no preamble, no meta group, and the first "
                              "element has tag (0000,0000)")
        self.encoding = encoding
        self._body_offset = self._base + self._pos
        self._seen_element = False
        self._stack = [_Frame(_DATASET, None, encoding.explicit_vr, encoding.little_endian, 0)]
        self._phase = self._resume = _BODY
        return DataSetStart(self._base + self._pos, self.transfer_syntax,
                            encoding.explicit_vr, encoding.little_endian,
                            encoding.deflated)

    # -- the data set --------------------------------------------------------
    def _run(self) -> list:
        """The common case of ``_body`` in one loop: the consecutive short
        primitive elements of the current data set or item that are whole
        in the buffer (and inside the item's length). It stops, before it,
        at the first element that needs more (a sequence, an item tag, an
        undefined or long length, an implicit UN value that opens a sequence, a VR that is not in the
        table, a short buffer, the item's end): ``_body`` takes that one,
        so every check and error stays there."""
        stack = self._stack
        frame = stack[-1]
        kind = frame.kind
        if kind == _SEQUENCE or kind == _FRAGMENTS:
            return []
        buf = self._buf
        p = self._pos
        base = self._base
        limit = len(buf)
        if frame.end is not None and frame.end - base < limit:
            limit = frame.end - base
        explicit = frame.explicit
        threshold = self.chunk_threshold
        top = len(stack) == 1
        if frame.little:
            hhl, hl, hh2sh = _LE_HHL.unpack_from, _LE_HL.unpack_from, _LE_HH2SH.unpack_from
        else:
            hhl, hl, hh2sh = _BE_HHL.unpack_from, _BE_HL.unpack_from, _BE_HH2SH.unpack_from
        vr_table = VR_TABLE.get
        out: list = []
        append = out.append
        raw_vr = None
        reserved = 0
        header = 8
        while p + 8 <= limit:
            if explicit:
                group, elem, vr_bytes, length = hh2sh(buf, p)
                parsed = vr_table(vr_bytes)
                if parsed is None:
                    break
                vr = parsed[0]
                if parsed[1]:
                    if p + 12 > limit:
                        break
                    reserved, length = hl(buf, p + 6)
                    header = 12
                else:
                    reserved = 0
                    header = 8
            else:
                group, elem, length = hhl(buf, p)
                vr = implicit_vr((group << 16) | elem)
            if group == ITEM_GROUP or (top and group == 0x0002):
                break
            start = p + header
            if vr == "SQ" or length > threshold or start + length > limit \
                    or length == UNDEFINED:
                break
            if vr == "UN" and not explicit \
                    and implicit_value_is_sequence(vr, length, buf[start:start + 4]):
                break
            append(_new(Element, ((group << 16) | elem, vr, length, base + p,
                                  buf[start:start + length], raw_vr, reserved)))
            p = start + length
        if out:
            self._pos = p
            if top:
                self._seen_element = True
                self._last_tag = out[-1][0]
        return out

    def _body(self):
        stack = self._stack
        frame = stack[-1]
        buf = self._buf
        p = self._pos
        avail = len(buf) - p
        absolute = self._base + p
        if frame.end is not None and absolute >= frame.end:
            return self._defined_end(frame, absolute)
        if avail < 8:
            return self._input_short(frame, avail)
        little = frame.little
        if little:
            group, elem, length = _LE_HHL.unpack_from(buf, p)
        else:
            group, elem, length = _BE_HHL.unpack_from(buf, p)
        tag = (group << 16) | elem
        if group == ITEM_GROUP:
            return self._item_tag(frame, tag, length, absolute)
        kind = frame.kind
        if kind == _SEQUENCE or kind == _FRAGMENTS:
            return self._fail(f"expected an item tag, found {tag >> 16:04X},{tag & 0xFFFF:04X}",
                              absolute)
        raw_vr = None
        reserved = 0
        header = 8
        if frame.explicit:
            vr_bytes = buf[p + 4:p + 6]
            parsed = VR_TABLE.get(vr_bytes) or read_vr(vr_bytes)
            if parsed is None:
                return self._not_an_element(frame, tag, vr_bytes, absolute)
            vr, long_form, raw_vr = parsed
            if long_form:
                if avail < 12:
                    if not self._eof:
                        return None
                    return self._fail("truncated: input ends inside an element header",
                                      absolute, tag, "truncated")
                reserved, length = (_LE_HL if little else _BE_HL).unpack_from(buf, p + 6)
                header = 12
            else:
                length = (_LE_H if little else _BE_H).unpack_from(buf, p + 6)[0]
        else:
            vr = implicit_vr(tag)
        if len(stack) == 1:
            if group == 0x0002 and self._phase == _BODY:
                # The Ion document keeps group 0002 in the meta group, which the
                # writer puts first: one here would move there on the way back.
                return self._fail("file meta element in the data set: group 0002 "
                                  "belongs in the meta group at the start of the file",
                                  absolute, tag, "meta-group",
                                  header + length if length != UNDEFINED else header)
            self._seen_element = True
            self._last_tag = tag
        if length == UNDEFINED:
            return self._open_undefined(frame, tag, vr, absolute, header, raw_vr, reserved)
        start = p + header
        if header + length <= avail and length <= self.chunk_threshold and vr != "SQ" \
                and (frame.explicit or vr != "UN") \
                and (frame.end is None or absolute + header + length <= frame.end):
            # the common case of _defined: a short value that is all in the buffer
            self._pos = start + length
            return _new(Element, (tag, vr, length, absolute, buf[start:start + length],
                                  raw_vr, reserved))
        return self._defined(frame, tag, vr, length, header, raw_vr, reserved, absolute)

    def _defined_end(self, frame: _Frame, absolute: int):
        """The end of a defined-length item or sequence is reached."""
        if absolute > frame.end and frame.kind != _SEQUENCE or self._give_up or self._cut:
            if not self._salvaging(absolute):
                raise self._error("element runs past the end of its item", absolute)
            if self._give_up or self._cut:
                return self._close_truncated(frame, absolute)
            self._problems += 1
            self._pending.append(self._close_truncated(frame, absolute))
            return Damage(absolute, tuple(self._path), "length-past-end",
                          "element runs past the end of its item")
        # (a last item that overruns its sequence's declared length is kept;
        # the declared length travels in the events)
        return self._close_frame(frame, absolute, False, 0)

    def _input_short(self, frame: _Frame, avail: int):
        """Fewer than 8 bytes left: wait, finish, or keep them as trailing bytes."""
        if not self._eof:
            return None
        if frame.kind == _DATASET:
            if not self._seen_element and not self._had_meta and not self._problems:
                message = "not a DICOM file: no data elements" + (
                    " (empty input)" if self._size == 0 else "")
                if self.strict or not self._dicm:
                    raise self._error(message)
                # a "DICM" prefix and nothing (or a few bytes) after it: damaged DICOM
                message = "truncated: no data elements after the preamble"
                if avail:
                    return self._fail(message, self._base + self._pos, kind="truncated",
                                      skip=avail)
                self._problems += 1
                self._cut = True
                self._pending.append(self._finish())
                return Damage(self._base + self._pos, (), "truncated", message)
            if avail == 0:
                return self._finish()
            buf, p = self._buf, self._pos
            if self._cut_header(buf, p, avail, frame) and not self._cut:
                return self._fail(f"truncated: input ends {avail} bytes into an element "
                                  "header", self._base + p,
                                  self._tag_at(buf, p, frame) if avail >= 4 else None,
                                  "truncated")
            if self._phase == _META:
                # the data set begins here, as after a shorter tail: the bytes
                # belong to it (deflated or not), not to the meta group
                self._phase = _BODY_START
                return self._body_start()
            self._phase = _TRAILING
            return self._trailing()
        absolute = self._base + self._pos
        if self._cut or self._give_up:
            return self._close_truncated(frame, absolute)
        message = "truncated: input ends inside " + (
            "an item" if frame.kind == _ITEM else "encapsulated data"
            if frame.kind == _FRAGMENTS else "a sequence")
        if avail:
            return self._fail(message, absolute, kind="truncated", skip=avail)
        if not self._salvaging(absolute):
            raise self._error(message)
        self._problems += 1
        self._cut = True
        return Damage(absolute, tuple(self._path), "truncated", message)

    def _not_an_element(self, frame: _Frame, tag: int, vr_bytes: bytes, absolute: int):
        """Explicit VR bytes that are not a VR: trailing bytes after the data
        set's last element, else an error."""
        if frame.kind == _DATASET and self._phase == _BODY and len(self._stack) == 1 \
                and self._seen_element and can_be_trailing(self._buf[self._pos:self._pos + 8],
                                                           True):
            self._phase = _TRAILING
            return self._trailing()
        return self._fail(f"invalid VR bytes {vr_bytes!r}", absolute, tag)

    def _defined(self, frame: _Frame, tag: int, vr: str, length: int, header: int,
                 raw_vr: Optional[bytes], reserved: int, absolute: int):
        """An element of defined length: a sequence, or a value whole or in chunks."""
        end = absolute + header + length
        if frame.end is not None and end > frame.end:
            return self._fail(f"length {length} runs past the end of its item or sequence",
                              absolute, tag, "length-past-end")
        p = self._pos
        if vr == "SQ":
            self._pos = p + header
            damage = self._push(_SEQUENCE, end, frame.explicit, frame.little, tag, absolute,
                                header + length)
            if damage is not None:
                return damage
            return SequenceStart(tag, vr, length, absolute, raw_vr, reserved)
        if not frame.explicit and vr == "UN" and length >= 8:
            if self._available() < header + 4 and not self._eof:
                return None
            if implicit_value_is_sequence(vr, length, self._buf[p + header:p + header + 4]):
                # A sequence that the dictionary does not know (private, implicit VR).
                self._pos = p + header
                damage = self._push(_SEQUENCE, end, False, True, tag, absolute,
                                    header + length)
                if damage is not None:
                    return damage
                return SequenceStart(tag, "SQ", length, absolute)
        if length <= self.chunk_threshold:
            avail = self._available()
            if avail < header + length:
                if not self._eof:
                    return None
                self._pos = len(self._buf)
                return self._cut_value(
                    f"truncated: value of length {length} needs "
                    f"{header + length - avail} more bytes than the input has", absolute, tag,
                    Element(tag, vr, length, absolute, self._buf[p + header:], raw_vr, reserved))
            self._pos = p + header + length
            return Element(tag, vr, length, absolute, self._buf[p + header:p + header + length],
                           raw_vr, reserved)
        self._check_size(end, absolute, tag)
        self._pos = p + header
        self._start_chunks(length, tag, absolute)
        return Element(tag, vr, length, absolute, None, raw_vr, reserved)

    def _start_chunks(self, length: int, tag: int, offset: int) -> None:
        self._remaining = length
        self._value_tag = tag
        self._value_offset = offset
        self._phase = _VALUE

    def _check_size(self, end: int, offset: int, tag: int) -> None:
        if self.strict and self.total_size is not None and self._inflater is None and end > self.total_size:
            raise self._error(f"length runs {end - self.total_size} bytes past the end of "
                              f"the input ({self.total_size} bytes)", offset, tag)

    @staticmethod
    def _tag_at(buf, p: int, frame: _Frame) -> int:
        group, elem = (_LE_HH if frame.little else _BE_HH).unpack_from(buf, p)
        return (group << 16) | elem

    def _cut_header(self, buf, p: int, avail: int, frame: _Frame) -> bool:
        return cut_header(buf[p:p + avail], frame.little, frame.explicit, self._last_tag)

    def _push(self, kind: int, end: Optional[int], explicit: bool, little: bool,
              tag: int, offset: int, size: int = 8):
        """Open a container; past the depth limit, its bytes (``size`` of
        them, or up to the resync point) are kept raw: returns that Damage."""
        if len(self._stack) >= self.max_depth:
            frame = self._stack[-1]
            fits = end is not None and (frame.end is None or end <= frame.end) and (
                self.total_size is None or end <= self.total_size or self._inflater is not None)
            # (the rest of this level is raw: every header inside would be too deep too)
            return self._fail(f"nesting deeper than {self.max_depth} levels", offset, tag,
                              "too-deep", size if fits else 1 << 62)
        self._stack.append(_Frame(kind, end, explicit, little, tag))
        if kind != _ITEM:
            self._path.append(tag)
        return None

    def _open_undefined(self, frame, tag, vr, absolute, header, raw_vr, reserved):
        opens, vr = undefined_length_opens(tag, vr, raw_vr, frame.explicit)
        if opens == "sequence":
            inner = Context(frame.explicit, frame.little).inside(vr, UNDEFINED)
            damage = self._push(_SEQUENCE, None, inner.explicit, inner.little, tag, absolute)
            if damage is not None:
                return damage
            self._pos += header
            return SequenceStart(tag, vr, UNDEFINED, absolute, raw_vr, reserved)
        if opens == "fragments":
            damage = self._push(_FRAGMENTS, None, frame.explicit, frame.little, tag, absolute)
            if damage is not None:
                return damage
            self._pos += header
            return FragmentsStart(tag, vr, absolute, raw_vr, reserved)
        return self._fail(f"undefined length is not allowed for VR {vr}", absolute, tag,
                          skip=header)

    def _item_tag(self, frame: _Frame, tag: int, length: int, absolute: int):
        kind = frame.kind
        if tag == ITEM:
            if kind == _SEQUENCE:
                self._pos += 8
                end = None if length == UNDEFINED else absolute + 8 + length
                damage = self._push(_ITEM, end, frame.explicit, frame.little, tag, absolute,
                                    8 if end is None else 8 + length)
                if damage is not None:
                    return damage
                return ItemStart(absolute, length)
            if kind == _FRAGMENTS:
                return self._fragment(tag, length, absolute)
            return self._fail("item tag outside a sequence", absolute, tag,
                              "stray-delimiter", stray=True)
        if tag == ITEM_END:
            if kind != _ITEM or frame.end is not None:
                return self._fail("item delimiter outside an undefined-length item",
                                  absolute, tag, "stray-delimiter", stray=True)
            self._pos += 8
            return self._close_frame(frame, absolute, True, length)
        if tag == SEQUENCE_END:
            if kind not in (_SEQUENCE, _FRAGMENTS) or frame.end is not None:
                return self._fail("sequence delimiter outside an undefined-length sequence",
                                  absolute, tag, "stray-delimiter", stray=True)
            self._pos += 8
            return self._close_frame(frame, absolute, True, length)
        return self._fail(f"unknown item tag {tag >> 16:04X},{tag & 0xFFFF:04X}", absolute,
                          kind="stray-delimiter", stray=True)

    def _fragment(self, tag: int, length: int, absolute: int):
        """One item of encapsulated data: whole, or in chunks when long."""
        if length == UNDEFINED:
            return self._fail("fragment with undefined length", absolute, tag,
                              "stray-delimiter", stray=True)
        if length <= self.chunk_threshold:
            if self._available() < 8 + length:
                if not self._eof:
                    return None
                p = self._pos
                self._pos = len(self._buf)
                return self._cut_value(f"truncated: fragment of length {length} "
                                       "runs past the end of the input", absolute, tag,
                                       Fragment(absolute, length, self._buf[p + 8:]))
            p = self._pos
            self._pos = p + 8 + length
            return Fragment(absolute, length, self._buf[p + 8:p + 8 + length])
        self._check_size(absolute + 8 + length, absolute, tag)
        self._pos += 8
        self._start_chunks(length, tag, absolute)
        return Fragment(absolute, length, None)

    def _close_frame(self, frame: _Frame, absolute: int, delimited: bool, length: int):
        self._stack.pop()
        kind = frame.kind
        if kind == _ITEM:
            return ItemEnd(absolute, delimited, length)
        self._path.pop()
        if kind == _SEQUENCE:
            return SequenceEnd(absolute, delimited, length)
        if kind == _FRAGMENTS:
            return FragmentsEnd(absolute, length)
        raise self._error("internal: closing the data set", absolute)

    def _value_chunk(self):
        size = min(self._remaining, self.chunk_size)
        if self._available() < size:
            if not self._eof:
                return None
            p = self._pos
            self._pos = len(self._buf)
            self._phase = self._resume
            data = self._buf[p:]
            if self._syntax_parts is not None:
                self._set_transfer_syntax(b"".join(self._syntax_parts) + data)
                self._syntax_parts = None
            return self._cut_value(f"truncated: value needs {self._remaining - len(data)} "
                                   "more bytes than the input has", self._value_offset,
                                   self._value_tag, ValueChunk(data, True))
        p = self._pos
        self._pos = p + size
        self._remaining -= size
        last = self._remaining == 0
        data = self._buf[p:p + size]
        if self._syntax_parts is not None:
            self._syntax_parts.append(data)
            if last:
                self._set_transfer_syntax(b"".join(self._syntax_parts))
                self._syntax_parts = None
        if last:
            self._phase = self._resume
        return ValueChunk(data, last)

    # -- the end -----------------------------------------------------------
    def _trailing(self):
        """Bytes after the data set: emitted whole when short, else in chunks
        as they arrive (so gigabytes of them are never held). When elements
        follow them within ``chunk_threshold`` bytes, they are damage in the
        data set instead (``wire.elements_follow``)."""
        if not self._streaming_trailing:
            p = self._pos
            avail = self._available()
            if not self._eof and avail <= self.chunk_threshold:
                return None
            window = min(avail, self.chunk_threshold)
            stop = self.total_size if self.total_size is not None and \
                self._inflater is None else 1 << 62
            if self._eof:
                stop = self._base + len(self._buf)
            frame = self._stack[0]
            resume = elements_follow(self._buf, p + 1, p + window, stop - self._base,
                                     Context(frame.explicit, frame.little), self._last_tag)
            if resume is not None:
                self._phase = _BODY
                return self._fail(f"{resume - p} bytes that do not form an element, and "
                                  f"elements after them", self._base + p, skip=resume - p)
            if not self._eof:
                self._streaming_trailing = True
                return Trailing(self._base + p, None)
            data = self._buf[p:]
            self._pos = len(self._buf)
            self._phase = _DONE
            self._pending.extend(self._end_events())
            if not data:
                return self._pending.pop(0)
            if len(data) <= self.chunk_threshold:
                return Trailing(self._base + p, data)
            chunks = [data[i:i + self.chunk_size] for i in range(0, len(data), self.chunk_size)]
            self._pending[0:0] = [ValueChunk(c, i == len(chunks) - 1)
                                  for i, c in enumerate(chunks)]
            return Trailing(self._base + p, None)
        p = self._pos
        if self._available() > self.chunk_size:      # a byte after it: not the last
            self._pos = p + self.chunk_size
            return ValueChunk(self._buf[p:self._pos], False)
        if not self._eof:
            return None
        self._pos = len(self._buf)
        self._phase = _DONE
        self._pending.extend(self._end_events())
        return ValueChunk(self._buf[p:], True)

    def _finish(self):
        self._phase = _DONE
        events = self._end_events()
        self._pending.extend(events[1:])
        return events[0]

    def _end_events(self) -> list:
        events: list = []
        if self._inflater is not None:
            events.extend(self._late)
            if not self._inflater.eof and not self._deflate_broken:
                # a deflate stream always ends with a final block: without it the
                # file was cut, even when the inflated bytes end between elements
                message = "truncated: the deflated data set ends before its compressed " \
                          "stream does"
                if not self._salvaging(self._size):
                    raise DicomParseError(message, self._size, (), self.name)
                events.append(Damage(self._size, (), "deflate", message + ": the compressed "
                                     "bytes are kept as they are"))
            events.append(self._deflate_info())
            if self._raw_tail:
                events.append(Trailing(self._raw_offset + self._raw_seen, self._raw_tail))
        events.append(End(self._size if self._inflater is not None else self._base + len(self._buf)))
        return events
