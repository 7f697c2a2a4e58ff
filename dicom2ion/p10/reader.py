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
``chunk_size`` bytes, so memory stays bounded whatever the file size. ``batches()`` gives the same
events in lists (a run of elements of one data set in one list), for
consumers that take them a run at a time.
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
    SequenceEnd, SequenceStart, Trailing, ValueChunk,
)
from .syntax import Encoding, encoding_for
from .wire import (
    ITEM, ITEM_END, ITEM_GROUP, SEQUENCE_END, TRANSFER_SYNTAX, VR_TABLE, Context,
    can_be_trailing, cut_header,
    detect_encoding, implicit_value_is_sequence, implicit_vr, is_null_tag_start,
    meta_is_explicit, read_vr, starts_meta_group, undefined_length_opens,
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
_PREAMBLE, _META_START, _META, _BODY_START, _BODY, _VALUE, _TRAILING, _DONE = range(8)

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
                 total_size: Optional[int] = None):
        self.name = name              # names the input in error messages
        self.total_size = total_size  # when known, impossible lengths fail at once
        self.chunk_threshold = chunk_threshold  # longer values arrive in chunks
        self.chunk_size = chunk_size
        self.max_depth = max_depth
        self._buf = b""
        self._pos = 0            # read position in _buf
        self._base = 0           # absolute offset of _buf[0] (parse stream)
        self._eof = False
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
        if self._eof:
            raise RuntimeError("feed() after close()")
        if not data:
            return
        data = bytes(data)
        self._hash.update(data)
        self._size += len(data)
        if self._inflater is not None:
            self._inflate(data)
        else:
            self._append(data)

    def close(self) -> None:
        """Mark the end of the input."""
        if self._inflater is not None and not self._eof:
            self._finish_inflate()
        self._eof = True

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
        if rest:
            self._inflate(rest)
        if self._eof:
            self._finish_inflate()
        if self._queued:        # we are inside events(): make the bytes visible now
            self._join_queued()

    def _inflate(self, data: bytes) -> None:
        inflater = self._inflater
        if inflater.eof:
            self._raw_tail += data
            return
        try:
            out = inflater.decompress(data)
        except zlib.error as exc:
            raise self._error(f"deflated data set is corrupt ({exc})") from None
        used = data
        if inflater.eof and inflater.unused_data:
            tail = inflater.unused_data
            self._raw_tail += tail
            used = data[:len(data) - len(tail)]
        self._raw_seen += len(used)
        self._raw_hash.update(used)
        if self._raw_keep is not None:
            self._raw_keep.append(used)
        if out:
            self._inflated_total += len(out)
            if self._inflated_keep is not None:
                self._inflated_keep.append(out)
                if self._inflated_total > _DEFLATE_CHECK_LIMIT:
                    self._inflated_keep = self._raw_keep = None
            self._append(out)

    def _finish_inflate(self) -> None:
        inflater = self._inflater
        out = inflater.flush()
        if out:
            self._inflated_total += len(out)
            if self._inflated_keep is not None:
                self._inflated_keep.append(out)
            self._append(out)

    def _deflate_info(self) -> DeflateInfo:
        level = None
        raw = None
        if self._inflated_keep is not None and self._raw_keep is not None and self._inflater.eof:
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
        return None

    def _preamble(self):
        if self._available() < 132 and not self._eof:
            return None
        buf = self._buf
        self._phase = _META_START
        if buf[128:132] == b"DICM":
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
            raise self._error("the file meta group cannot hold a sequence or an "
                              "undefined-length value", event.offset)
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
        declared = encoding_for(self.transfer_syntax)
        if declared is not None and declared.deflated and self._inflater is None:
            self._start_inflate()
            if self._available() < 8 and not self._eof:
                return None
        head = self._buf[self._pos:self._pos + 8]
        encoding = detect_encoding(head, declared)
        if declared is None and is_null_tag_start(head):
            raise self._error("not a DICOM file: no preamble, no meta group, and the first "
                              "element has tag (0000,0000)")
        self.encoding = encoding
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
            raise self._error(f"expected an item tag, found {tag >> 16:04X},{tag & 0xFFFF:04X}",
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
                    raise self._error("truncated element header", absolute, tag)
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
                raise self._error("file meta element in the data set: group 0002 "
                                  "belongs in the meta group at the start of the file",
                                  absolute, tag)
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
        if absolute > frame.end and frame.kind != _SEQUENCE:
            raise self._error("element runs past the end of its item", absolute)
        # (a last item that overruns its sequence's declared length is kept;
        # the declared length travels in the events)
        return self._close_frame(frame, absolute, False, 0)

    def _input_short(self, frame: _Frame, avail: int):
        """Fewer than 8 bytes left: wait, finish, or keep them as trailing bytes."""
        if not self._eof:
            return None
        if frame.kind == _DATASET:
            if not self._seen_element and not self._had_meta:
                raise self._error("not a DICOM file: no data elements"
                                  + (" (empty input)" if self._size == 0 else ""))
            if avail == 0:
                return self._finish()
            buf, p = self._buf, self._pos
            if self._cut_header(buf, p, avail, frame):
                raise self._error(f"truncated: input ends {avail} bytes into an element "
                                  "header", self._base + p,
                                  self._tag_at(buf, p, frame) if avail >= 4 else None)
            if self._phase == _META:
                # the data set begins here, as after a shorter tail: the bytes
                # belong to it (deflated or not), not to the meta group
                self._phase = _BODY_START
                return self._body_start()
            self._phase = _TRAILING
            return self._trailing()
        raise self._error("truncated: input ends inside "
                          + ("a sequence" if frame.kind != _ITEM else "an item"))

    def _not_an_element(self, frame: _Frame, tag: int, vr_bytes: bytes, absolute: int):
        """Explicit VR bytes that are not a VR: trailing bytes after the data
        set's last element, else an error."""
        if frame.kind == _DATASET and self._phase == _BODY and len(self._stack) == 1 \
                and self._seen_element and can_be_trailing(self._buf[self._pos:self._pos + 8],
                                                           True):
            self._phase = _TRAILING
            return self._trailing()
        raise self._error(f"invalid VR bytes {vr_bytes!r}", absolute, tag)

    def _defined(self, frame: _Frame, tag: int, vr: str, length: int, header: int,
                 raw_vr: Optional[bytes], reserved: int, absolute: int):
        """An element of defined length: a sequence, or a value whole or in chunks."""
        end = absolute + header + length
        if frame.end is not None and end > frame.end:
            raise self._error(f"length {length} runs past the end of its item or sequence",
                              absolute, tag)
        p = self._pos
        if vr == "SQ":
            self._pos = p + header
            self._push(_SEQUENCE, end, frame.explicit, frame.little, tag, absolute)
            return SequenceStart(tag, vr, length, absolute, raw_vr, reserved)
        if not frame.explicit and vr == "UN" and length >= 8:
            if self._available() < header + 4 and not self._eof:
                return None
            if implicit_value_is_sequence(vr, length, self._buf[p + header:p + header + 4]):
                # A sequence that the dictionary does not know (private, implicit VR).
                self._pos = p + header
                self._push(_SEQUENCE, end, False, True, tag, absolute)
                return SequenceStart(tag, "SQ", length, absolute)
        if length <= self.chunk_threshold:
            avail = self._available()
            if avail < header + length:
                if not self._eof:
                    return None
                raise self._error(f"truncated: value of length {length} needs "
                                  f"{header + length - avail} more bytes than the input has",
                                  absolute, tag)
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
        if self.total_size is not None and self._inflater is None and end > self.total_size:
            raise self._error(f"length runs {end - self.total_size} bytes past the end of "
                              f"the input ({self.total_size} bytes)", offset, tag)

    @staticmethod
    def _tag_at(buf, p: int, frame: _Frame) -> int:
        group, elem = (_LE_HH if frame.little else _BE_HH).unpack_from(buf, p)
        return (group << 16) | elem

    def _cut_header(self, buf, p: int, avail: int, frame: _Frame) -> bool:
        return cut_header(buf[p:p + avail], frame.little, frame.explicit, self._last_tag)

    def _push(self, kind: int, end: Optional[int], explicit: bool, little: bool,
              tag: int, offset: int) -> None:
        if len(self._stack) >= self.max_depth:
            raise self._error(f"nesting deeper than {self.max_depth} levels", offset, tag)
        self._stack.append(_Frame(kind, end, explicit, little, tag))
        if kind != _ITEM:
            self._path.append(tag)

    def _open_undefined(self, frame, tag, vr, absolute, header, raw_vr, reserved):
        self._pos += header
        opens, vr = undefined_length_opens(tag, vr, raw_vr, frame.explicit)
        if opens == "sequence":
            inner = Context(frame.explicit, frame.little).inside(vr, UNDEFINED)
            self._push(_SEQUENCE, None, inner.explicit, inner.little, tag, absolute)
            return SequenceStart(tag, vr, UNDEFINED, absolute, raw_vr, reserved)
        if opens == "fragments":
            self._push(_FRAGMENTS, None, frame.explicit, frame.little, tag, absolute)
            return FragmentsStart(tag, vr, absolute, raw_vr, reserved)
        raise self._error(f"undefined length is not allowed for VR {vr}", absolute, tag)

    def _item_tag(self, frame: _Frame, tag: int, length: int, absolute: int):
        kind = frame.kind
        if tag == ITEM:
            if kind == _SEQUENCE:
                self._pos += 8
                end = None if length == UNDEFINED else absolute + 8 + length
                self._push(_ITEM, end, frame.explicit, frame.little, tag, absolute)
                return ItemStart(absolute, length)
            if kind == _FRAGMENTS:
                return self._fragment(tag, length, absolute)
            raise self._error("item tag outside a sequence", absolute, tag)
        if tag == ITEM_END:
            if kind != _ITEM or frame.end is not None:
                raise self._error("item delimiter outside an undefined-length item", absolute, tag)
            self._pos += 8
            return self._close_frame(frame, absolute, True, length)
        if tag == SEQUENCE_END:
            if kind not in (_SEQUENCE, _FRAGMENTS) or frame.end is not None:
                raise self._error("sequence delimiter outside an undefined-length sequence",
                                  absolute, tag)
            self._pos += 8
            return self._close_frame(frame, absolute, True, length)
        raise self._error(f"unknown item tag {tag >> 16:04X},{tag & 0xFFFF:04X}", absolute)

    def _fragment(self, tag: int, length: int, absolute: int):
        """One item of encapsulated data: whole, or in chunks when long."""
        if length == UNDEFINED:
            raise self._error("fragment with undefined length", absolute, tag)
        if length <= self.chunk_threshold:
            if self._available() < 8 + length:
                if not self._eof:
                    return None
                raise self._error(f"truncated: fragment of length {length} "
                                  "runs past the end of the input", absolute, tag)
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
            raise self._error(f"truncated: value needs {self._remaining - self._available()} "
                              "more bytes than the input has", self._value_offset,
                              self._value_tag)
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
        """Bytes after the data set: emitted whole when short, else in chunks."""
        if not self._eof:
            return None
        p = self._pos
        data = self._buf[p:]
        self._pos = len(self._buf)
        self._phase = _DONE
        self._pending.extend(self._end_events())
        if not data:
            return self._pending.pop(0)
        if len(data) <= self.chunk_threshold:
            return Trailing(self._base + p, data)
        chunks = [data[i:i + self.chunk_size] for i in range(0, len(data), self.chunk_size)]
        self._pending[0:0] = [ValueChunk(c, i == len(chunks) - 1) for i, c in enumerate(chunks)]
        return Trailing(self._base + p, None)

    def _finish(self):
        self._phase = _DONE
        events = self._end_events()
        self._pending.extend(events[1:])
        return events[0]

    def _end_events(self) -> list:
        events: list = []
        if self._inflater is not None:
            if not self._inflater.eof:
                # a deflate stream always ends with a final block: without it the
                # file was cut, even when the inflated bytes end between elements
                raise DicomParseError("truncated: the deflated data set ends before its "
                                      "compressed stream does", self._size, (), self.name)
            events.append(self._deflate_info())
            if self._raw_tail:
                events.append(Trailing(self._raw_offset + self._raw_seen, self._raw_tail))
        events.append(End(self._size if self._inflater is not None else self._base + len(self._buf)))
        return events
