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


# -- the converter's fragment map uses the same rules ------------------------------------

def _el(tag: int, vr: str, value: bytes) -> bytes:
    if vr in ("OB", "OV", "UN"):
        return struct.pack("<HH2sHL", tag >> 16, tag & 0xFFFF, vr.encode(), 0, len(value)) + value
    return struct.pack("<HH2sH", tag >> 16, tag & 0xFFFF, vr.encode(), len(value)) + value


def _encapsulated_file(fragments, eot=None, frames=b"2 ", chunk=None) -> bytes:
    meta_body = _el(0x00020010, "UI", b"1.2.840.10008.1.2.4.50\0")
    meta = _el(0x00020000, "UL", struct.pack("<L", len(meta_body))) + meta_body
    body = _el(0x00280008, "IS", frames) if frames is not None else b""
    if eot is not None:
        body += _el(0x7FE00001, "OV", struct.pack("<%dQ" % len(eot), *eot))
    items = struct.pack("<HHL", 0xFFFE, 0xE000, 0)
    for data in fragments:
        items += struct.pack("<HHL", 0xFFFE, 0xE000, len(data)) + data
    items += struct.pack("<HHL", 0xFFFE, 0xE0DD, 0)
    body += struct.pack("<HH2sHL", 0x7FE0, 0x0010, b"OB", 0, 0xFFFFFFFF) + items
    return b"\0" * 128 + b"DICM" + meta + body


def _frames_of(data: bytes, **reader_options):
    import dicom2ion
    from dicom2ion.ion.visitor import IonVisitor
    from dicom2ion.p10.reader import P10Reader

    if not reader_options:
        pixel = dicom2ion.convert(data)["dataSet"]["PixelData"]
    else:
        reader = P10Reader(**reader_options)
        visitor = IonVisitor()
        reader.feed(data)
        reader.close()
        for event in reader.events():
            visitor.visit(event)
        pixel = visitor.data_set["PixelData"]
    assert dicom2ion.to_dicom_bytes(dicom2ion.convert(data, inline_all=True)) == data
    return [list(f) for f in pixel["frames"]] if "frames" in pixel else None


def test_converter_frame_map_from_extended_offset_table():
    fragments = [REST + bytes(4), REST[:8], REST[:8]]          # items at offsets 0, 24, 40
    assert _frames_of(_encapsulated_file(fragments)) is None   # nothing tells
    assert _frames_of(_encapsulated_file(fragments, eot=[0, 40])) == [[0, 2], [2, 1]]
    assert _frames_of(_encapsulated_file(fragments, eot=[0, 30])) is None   # not a fragment


def test_converter_frame_map_from_start_markers():
    fragments = [JPEG + bytes(4), REST, JPEG, REST]
    assert _frames_of(_encapsulated_file(fragments)) == [[0, 2], [2, 2]]
    assert _frames_of(_encapsulated_file(fragments, frames=b"3 ")) is None
    # fragments that arrive in chunks keep their first bytes for the marker test
    big = [JPEG + bytes(100), REST + bytes(100), JPEG + bytes(100)]
    assert _frames_of(_encapsulated_file(big), chunk_threshold=16, chunk_size=7) == [[0, 2], [2, 1]]


def test_converter_frame_map_of_a_single_frame_image():
    # no NumberOfFrames: a single-frame image, all its fragments one frame (as the view reads it)
    fragments = [JPEG + bytes(4), REST, REST]
    assert _frames_of(_encapsulated_file(fragments, frames=None)) == [[0, 3]]
    assert _frames_of(_encapsulated_file(fragments, frames=b"1 ")) == [[0, 3]]
