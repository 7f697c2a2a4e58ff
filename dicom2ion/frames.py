"""Frames of pixel data, from a dataset view.

Encapsulated pixel data: which fragments make each frame comes from, in
this order, the document's ``frames`` map, the Extended Offset Table
(7FE0,0001), the basic offset table, and otherwise NumberOfFrames: one
fragment is one frame; as many fragments as frames, one each; one frame,
all fragments; more fragments than frames, a new frame at each fragment
that begins with a codec's start marker (JPEG and JPEG-LS SOI ``FF D8``,
JPEG 2000 SOC ``FF 4F FF 51`` or a JP2 signature box). Native pixel data:
frame ``i`` is the ``i``-th run of Rows x Columns x SamplesPerPixel x
BitsAllocated / 8 bytes (little endian, like every blob of the document).
"""

from __future__ import annotations

import struct
from typing import Iterator, List, Optional

from .errors import Dicom2IonError
from .p10.vr import SWAP_SIZE

PIXEL_TAGS = (0x7FE00010, 0x7FE00008, 0x7FE00009)   # PixelData, Float, DoubleFloat
EXTENDED_OFFSET_TABLE = 0x7FE00001
START_MARKERS = (b"\xff\xd8", b"\xff\x4f\xff\x51", b"\x00\x00\x00\x0cjP  ")


class Encapsulated:
    """Encapsulated pixel data: the offset table, the fragments (each read on
    demand, checked against its sha256) and the frame map when known."""

    def __init__(self, raw, context, path: str):
        self._raw = raw
        self._context = context
        self.path = path
        table = raw.get("basicOffsetTable")
        self.basic_offset_table: list = [int(x) for x in table] if isinstance(table, list) else []
        self.fragments: list = list(raw.get("fragments") or [])
        frames = raw.get("frames")
        self.frame_map: Optional[list] = ([(int(a), int(b)) for a, b in frames]
                                          if isinstance(frames, list) else None)

    def __len__(self) -> int:
        return len(self.fragments)

    def fragment(self, index: int) -> bytes:
        record = self.fragments[index]
        data = record.get("data")
        if data is not None and isinstance(data, (bytes, bytearray)):
            return bytes(data)
        length = int(record["length"])
        if not length:
            return b""
        return b"".join(self._context.resolver(int(record["position"]), length,
                                               str(record["sha256"]),
                                               f"{self.path}.fragments[{index}]"))

    def __repr__(self) -> str:
        return f"<Encapsulated pixel data: {len(self)} fragments>"


def _pixel(ds):
    for tag in PIXEL_TAGS:
        if tag in ds:
            return tag, ds[tag]
    raise Dicom2IonError(f"{ds._path} has no pixel data")


def _number_of_frames(ds) -> int:
    value = ds.get("NumberOfFrames")
    try:
        return int(value) if value is not None else 1
    except (TypeError, ValueError):
        return 1


def _groups_by_offsets(offsets: List[int], fragments: list) -> List[List[int]]:
    """Frame k holds the fragments whose offset lies in [offsets[k], offsets[k+1])."""
    groups: List[List[int]] = [[] for _ in offsets]
    k = 0
    for index, record in enumerate(fragments):
        where = int(record["offset"])
        while k + 1 < len(offsets) and where >= offsets[k + 1]:
            k += 1
        groups[k].append(index)
    return groups


def frame_groups(ds, pixel: Encapsulated) -> Optional[List[List[int]]]:
    """Fragment indices of each frame, or None when only the codestream can
    tell (more fragments than frames and no table)."""
    count = len(pixel)
    if pixel.frame_map is not None:
        return [list(range(first, first + n)) for first, n in pixel.frame_map]
    eot = ds.bulk(EXTENDED_OFFSET_TABLE).read() if EXTENDED_OFFSET_TABLE in ds else None
    if isinstance(eot, (bytes, bytearray)) and eot and not len(eot) % 8:
        offsets = list(struct.unpack("<%dQ" % (len(eot) // 8), eot))
        return _groups_by_offsets(offsets, pixel.fragments)
    if pixel.basic_offset_table:
        return _groups_by_offsets(pixel.basic_offset_table, pixel.fragments)
    frames = _number_of_frames(ds)
    if count == 1 or frames == 1:
        return [list(range(count))]
    if frames == count:
        return [[i] for i in range(count)]
    if count < frames:
        raise Dicom2IonError(f"{pixel.path}: {count} fragments cannot hold {frames} frames")
    return None


def _encapsulated_frames(ds, pixel: Encapsulated) -> Iterator[bytes]:
    groups = frame_groups(ds, pixel)
    if groups is not None:
        for group in groups:
            yield b"".join(pixel.fragment(i) for i in group)
        return
    frame: list = []
    for index in range(len(pixel)):
        data = pixel.fragment(index)
        if frame and data.startswith(START_MARKERS):
            yield b"".join(frame)
            frame = []
        frame.append(data)
    if frame:
        yield b"".join(frame)


def _frame_size(ds) -> int:
    rows, columns = ds.get("Rows"), ds.get("Columns")
    if not isinstance(rows, int) or not isinstance(columns, int):
        raise Dicom2IonError(f"{ds._path}: native frames need Rows and Columns")
    samples = ds.get("SamplesPerPixel") or 1
    bits = ds.get("BitsAllocated") or 8
    total = rows * columns * samples * bits
    if total % 8:
        raise Dicom2IonError(f"{ds._path}: frames of {total} bits do not start on byte "
                             "boundaries")
    return total // 8


def _native_chunks(ds, tag):
    """Chunks of native pixel bytes, little endian."""
    bulk = ds.bulk(tag)
    chunks = bulk.chunks()
    unit = SWAP_SIZE.get(bulk.vr)
    if bulk._data is None and unit and not ds._context.little_endian:
        from .ion.source import _swapped
        chunks = _swapped(chunks, unit)
    return chunks


def _native_frames(ds, tag, only: Optional[int] = None) -> Iterator[bytes]:
    size = _frame_size(ds)
    frames = _number_of_frames(ds)
    if not size:
        return
    buffer = bytearray()
    index = 0
    for chunk in _native_chunks(ds, tag):
        buffer += chunk
        while len(buffer) >= size and index < frames:
            if only is None or only == index:
                yield bytes(buffer[:size])
            del buffer[:size]
            index += 1
    if index < frames and buffer and (only is None or only == index):
        raise Dicom2IonError(f"{ds._path}: pixel data ends inside frame {index}")


def iter_frames(ds) -> Iterator[bytes]:
    """Every frame of the data set's pixel data."""
    tag, value = _pixel(ds)
    if isinstance(value, Encapsulated):
        return _encapsulated_frames(ds, value)
    return _native_frames(ds, tag)


def get_frame(ds, index: int) -> bytes:
    """Frame ``index`` (from 0)."""
    tag, value = _pixel(ds)
    if index < 0:
        raise IndexError(index)
    if isinstance(value, Encapsulated):
        groups = frame_groups(ds, value)
        if groups is not None:
            if index >= len(groups):
                raise IndexError(index)
            return b"".join(value.fragment(i) for i in groups[index])
        for i, frame in enumerate(_encapsulated_frames(ds, value)):
            if i == index:
                return frame
        raise IndexError(index)
    if index >= _number_of_frames(ds):
        raise IndexError(index)
    for frame in _native_frames(ds, tag, only=index):
        result = frame
    # the generator ran to its end, so the value's sha256 was checked
    try:
        return result
    except NameError:
        raise IndexError(index) from None


__all__ = ["Encapsulated", "frame_groups", "iter_frames", "get_frame"]
