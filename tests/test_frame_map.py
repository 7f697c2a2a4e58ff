"""Which fragments make each frame (dicom2ion.ion.frame_map)."""

from __future__ import annotations

import struct

from dicom2ion.ion.frame_map import extended_offsets, frame_map

JPEG = b"\xff\xd8\xff\xdb" + bytes(8)
REST = b"\x12\x34" + bytes(10)


def test_offset_tables():
    starts = [0, 100, 200, 300]
    assert frame_map([0, 200], starts, 2) == [[0, 2], [2, 2]]
    assert frame_map([0, 150], starts, 2) is None             # not a fragment start
    assert frame_map([100, 200], starts, 2) is None           # does not start at 0
    eot = extended_offsets(struct.pack("<2Q", 0, 200))
    assert frame_map([], starts, 2, extended=eot) == [[0, 2], [2, 2]]
    assert extended_offsets(b"\x00" * 7) is None


def test_number_of_frames_rules():
    assert frame_map([], [0, 10, 20], 1) == [[0, 3]]
    assert frame_map([], [0], None) == [[0, 1]]
    assert frame_map([], [0, 10, 20], 3) == [[0, 1], [1, 1], [2, 1]]
    assert frame_map([], [0, 10, 20], None) is None
    assert frame_map([], [], 1) is None


def test_start_markers_only_when_they_count_the_frames():
    starts = [0, 10, 20, 30, 40]
    heads = [JPEG, REST, REST, JPEG, REST]
    assert frame_map([], starts, 2, heads=heads) == [[0, 3], [3, 2]]
    assert frame_map([], starts, 3, heads=heads) is None      # two markers, three frames
    assert frame_map([], starts, 2, heads=[REST] + heads[1:]) is None
    j2k = b"\xff\x4f\xff\x51" + bytes(8)
    assert frame_map([], [0, 1, 2], 2, heads=[j2k, REST, j2k]) == [[0, 2], [2, 1]]
