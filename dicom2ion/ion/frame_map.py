"""Which fragments of encapsulated pixel data make each frame, when that can
be told without decoding the codestream (SCHEMA.md 4.6, ``frames``).

In order: the Extended Offset Table (7FE0,0001), the basic offset table,
NumberOfFrames (one frame of all fragments; one fragment per frame), and,
with more fragments than frames, the fragments that begin with a codec's
start marker, when exactly NumberOfFrames of them do and the first does.
"""

from __future__ import annotations

import struct
from typing import List, Optional, Sequence

# JPEG and JPEG-LS SOI, JPEG 2000 codestream SOC + SIZ, JP2 signature box
START_MARKERS = (b"\xff\xd8\xff", b"\xff\x4f\xff\x51", b"\x00\x00\x00\x0cjP  ")
HEAD = 12           # bytes of each fragment that the marker test needs


def _by_offsets(offsets: Sequence[int], starts: Sequence[int]) -> Optional[List[list]]:
    """Frames starting at the fragments whose offsets are listed, or None
    when an offset is not a fragment's or they do not ascend from 0."""
    index = {offset: i for i, offset in enumerate(starts)}
    firsts = []
    for offset in offsets:
        if offset not in index:
            return None
        firsts.append(index[offset])
    if not firsts or firsts[0] != 0 or any(b <= a for a, b in zip(firsts, firsts[1:])):
        return None
    bounds = firsts + [len(starts)]
    return [[bounds[i], bounds[i + 1] - bounds[i]] for i in range(len(firsts))]


def extended_offsets(data) -> Optional[List[int]]:
    """The offsets of an Extended Offset Table value (64-bit little endian)."""
    if not isinstance(data, (bytes, bytearray)) or not data or len(data) % 8:
        return None
    return list(struct.unpack("<%dQ" % (len(data) // 8), data))


def frame_map(table: Optional[list], starts: Sequence[int], number_of_frames: Optional[int],
              *, extended: Optional[List[int]] = None,
              heads: Optional[Sequence[bytes]] = None) -> Optional[List[list]]:
    """[[first fragment, fragment count], ...] per frame, or None.

    ``table``: the basic offset table (None when it is not a list of
    offsets); ``starts``: each fragment's offset (from the first fragment's
    item tag); ``heads``: the first bytes of each fragment.
    """
    count = len(starts)
    if not count:
        return None
    if extended:
        found = _by_offsets(extended, starts)
        if found is not None:
            return found
    if table:
        return _by_offsets(table, starts)
    if number_of_frames == 1 or (number_of_frames is None and count == 1):
        return [[0, count]]
    if number_of_frames == count:
        return [[i, 1] for i in range(count)]
    if heads is not None and number_of_frames and count > number_of_frames:
        firsts = [i for i, head in enumerate(heads) if bytes(head).startswith(START_MARKERS)]
        if len(firsts) == number_of_frames and firsts[0] == 0:
            bounds = firsts + [count]
            return [[bounds[i], bounds[i + 1] - bounds[i]] for i in range(len(firsts))]
    return None
