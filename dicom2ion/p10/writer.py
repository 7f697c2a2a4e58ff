"""Events -> P10 bytes: the mirror of the reader.

The writer encodes headers from the events and copies values as given, so
``write(read(p10)) == p10``. A defined-length sequence or item whose
``length`` is None is measured: its bytes are gathered and its length
written once known. A deflated data set is gathered in a spooled temporary
file and compressed when the ``DeflateInfo`` event tells the level.
"""

from __future__ import annotations

import io
import struct
import tempfile
import zlib
from typing import BinaryIO, Callable, Iterable, List, Optional

from ..errors import Dicom2IonError
from ..events import (
    UNDEFINED, DataSetStart, DeflateInfo, Element, End, FileMetaStart,
    Fragment, FragmentsEnd, FragmentsStart, ItemEnd, ItemStart, Preamble,
    SequenceEnd, SequenceStart, Trailing, ValueChunk,
)
from .vr import LONG_VRS

_COPY = 1 << 20


class WriteError(Dicom2IonError):
    """Events that cannot be written as P10."""


class _Level:
    __slots__ = ("explicit", "little", "buffer", "parent_out", "header")

    def __init__(self, explicit: bool, little: bool, buffer=None, parent_out=None, header=None):
        self.explicit = explicit
        self.little = little
        self.buffer = buffer          # BytesIO gathering a measured sequence or item
        self.parent_out = parent_out  # where the gathered bytes go
        self.header = header          # callable(length) -> header bytes


class P10Writer:
    """Write events to a binary stream.

    ``raw_deflated`` is called with a ``DeflateInfo`` whose level is None
    and must return the original compressed bytes as an iterable of chunks.
    """

    def __init__(self, out: BinaryIO, *, raw_deflated: Optional[Callable[[DeflateInfo], Iterable[bytes]]] = None):
        self._file = out
        self._out = out
        self._levels: List[_Level] = [_Level(True, True)]
        self._raw_deflated = raw_deflated
        self._spool = None

    # -- header encoding ---------------------------------------------------
    def _element_header(self, tag: int, vr: str, length: int, raw_vr: Optional[bytes],
                        reserved: int, level: _Level) -> bytes:
        little = level.little
        group, elem = tag >> 16, tag & 0xFFFF
        if not level.explicit:
            return struct.pack("<HHL" if little else ">HHL", group, elem, length)
        vr_bytes = raw_vr if raw_vr is not None else vr.encode("ascii")
        if raw_vr is not None or vr in LONG_VRS:
            return struct.pack("<HH2sHL" if little else ">HH2sHL", group, elem, vr_bytes,
                               reserved, length)
        if length > 0xFFFF:
            raise WriteError(f"value of {length} bytes is too long for VR {vr} "
                             f"in ({group:04X},{elem:04X})")
        return struct.pack("<HH2sH" if little else ">HH2sH", group, elem, vr_bytes, length)

    @staticmethod
    def _item_header(tag: int, length: int, little: bool) -> bytes:
        return struct.pack("<HHL" if little else ">HHL", tag >> 16, tag & 0xFFFF, length)

    # -- writing -----------------------------------------------------------
    def _write(self, data: bytes) -> None:
        self._out.write(data)

    def _open_measured(self, header: Callable[[int], bytes], explicit: bool, little: bool) -> None:
        buffer = io.BytesIO()
        self._levels.append(_Level(explicit, little, buffer, self._out, header))
        self._out = buffer

    def _close_level(self, trailer: bytes = b"") -> None:
        level = self._levels.pop()
        if level.buffer is not None:
            content = level.buffer.getvalue()
            self._out = level.parent_out
            self._write(level.header(len(content)))
            self._write(content)
        if trailer:
            self._write(trailer)

    def write(self, event) -> None:
        """Write one event."""
        kind = type(event)
        level = self._levels[-1]
        if kind is Element:
            self._write(self._element_header(event.tag, event.vr, event.length, event.raw_vr,
                                             event.reserved, level))
            if event.value is not None:
                self._write(event.value)
        elif kind is ValueChunk:
            self._write(event.data)
        elif kind is SequenceStart:
            # UN of undefined length holds implicit VR little endian items
            un_sequence = level.explicit and event.vr == "UN" and event.length == UNDEFINED
            explicit = level.explicit and not un_sequence
            little = True if un_sequence else level.little
            if event.length is None:
                self._open_measured(
                    lambda n, e=event, lv=level: self._element_header(
                        e.tag, e.vr, n, e.raw_vr, e.reserved, lv),
                    explicit, little)
            else:
                self._write(self._element_header(event.tag, event.vr, event.length,
                                                 event.raw_vr, event.reserved, level))
                self._levels.append(_Level(explicit, little))
        elif kind is ItemStart:
            if event.length is None:
                self._open_measured(lambda n, lt=level.little: self._item_header(0xFFFEE000, n, lt),
                                    level.explicit, level.little)
            else:
                self._write(self._item_header(0xFFFEE000, event.length, level.little))
                self._levels.append(_Level(level.explicit, level.little))
        elif kind is ItemEnd:
            trailer = self._item_header(0xFFFEE00D, event.length, level.little) if event.delimited else b""
            self._close_level(trailer)
        elif kind is SequenceEnd:
            trailer = self._item_header(0xFFFEE0DD, event.length, level.little) if event.delimited else b""
            self._close_level(trailer)
        elif kind is FragmentsStart:
            self._write(self._element_header(event.tag, event.vr, UNDEFINED, event.raw_vr,
                                             event.reserved, level))
            self._levels.append(_Level(level.explicit, level.little))
        elif kind is Fragment:
            self._write(self._item_header(0xFFFEE000, event.length, level.little))
            if event.value is not None:
                self._write(event.value)
        elif kind is FragmentsEnd:
            self._close_level(self._item_header(0xFFFEE0DD, event.length, level.little))
        elif kind is Preamble:
            if event.data is not None:
                if len(event.data) != 128:
                    raise WriteError(f"preamble must be 128 bytes, got {len(event.data)}")
                self._write(event.data + b"DICM")
        elif kind is FileMetaStart:
            self._levels = [_Level(event.explicit_vr, event.little_endian)]
        elif kind is DataSetStart:
            self._levels = [_Level(event.explicit_vr, event.little_endian)]
            if event.deflated:
                self._spool = tempfile.SpooledTemporaryFile(max_size=64 << 20)
                self._out = self._spool
        elif kind is Trailing:
            if event.value is not None:
                self._write(event.value)
        elif kind is DeflateInfo:
            self._finish_deflate(event)
        elif kind is End:
            if self._spool is not None:
                raise WriteError("deflated data set without DeflateInfo")
            if len(self._levels) != 1:
                raise WriteError("input ended inside a sequence or item")
            self._out.flush() if hasattr(self._out, "flush") else None
        else:
            raise WriteError(f"not an event: {event!r}")

    def _finish_deflate(self, info: DeflateInfo) -> None:
        spool, self._spool = self._spool, None
        if spool is None:
            raise WriteError("DeflateInfo without a deflated data set")
        self._out = self._file
        if info.level is None:
            if self._raw_deflated is None:
                raise WriteError("the deflated data set cannot be recompressed identically "
                                 "and its original compressed bytes were not provided")
            for chunk in self._raw_deflated(info):
                self._write(chunk)
            return
        spool.seek(0)
        comp = zlib.compressobj(info.level, zlib.DEFLATED, -15)
        for chunk in iter(lambda: spool.read(_COPY), b""):
            self._write(comp.compress(chunk))
        self._write(comp.flush())
        spool.close()

    def write_all(self, events: Iterable[object]) -> None:
        for event in events:
            self.write(event)


def write_events(events: Iterable[object], out: Optional[BinaryIO] = None, **options):
    """Write events to ``out``; with no ``out``, return the bytes."""
    if out is None:
        buffer = io.BytesIO()
        P10Writer(buffer, **options).write_all(events)
        return buffer.getvalue()
    P10Writer(out, **options).write_all(events)
    return None
