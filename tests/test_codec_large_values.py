"""Binary Ion of a document with large inline values (written by ion/dump_large,
see codec.LARGE_INLINE) loads back to the same values as
the C writer's output, and a P10 file converted with --inline-all rebuilds
byte for byte from it."""

from __future__ import annotations

import io

from amazon.ion import simpleion

import dicom2ion
from dicom2ion.ion import codec
from conftest import ROOT


def _document(size):
    return {"fileInfo": {"size": size}, "dataSet": {
        "PatientName": "Doe^Jane", "Rows": 16, "PixelData": bytes(range(256)) * (size // 256),
        "0009EEEE": {"encapsulatedPixelData": True, "fragments": [
            {"offset": 0, "data": b"\x01" * 1000}, {"offset": 1008, "data": b"\x02" * 10}]}}}


def test_inline_bytes_counts_blobs_and_fragments():
    assert codec.inline_bytes(_document(2048)) == 2048 + 1010
    assert codec.inline_bytes({"dataSet": {"PatientName": "x"}}) == 0
    assert codec.inline_bytes({}) == 0


def test_large_values_load_back_equal_to_the_c_writers_output():
    doc = _document(codec.LARGE_INLINE + 4096)
    assert codec.inline_bytes(doc) >= codec.LARGE_INLINE
    ours = codec.dumps(doc)
    c_writer = io.BytesIO()
    simpleion.dump(doc, c_writer, binary=True)
    assert codec.loads(ours) == codec.loads(c_writer.getvalue()) == doc


def test_inline_all_conversion_with_large_pixel_data_rebuilds_exactly(tmp_path):
    import sys
    sys.path.insert(0, str(ROOT / "tools"))
    import make_big_file

    path = tmp_path / "big.dcm"
    make_big_file.write_big_file(str(path), 3 << 20, seed=3)
    doc = dicom2ion.convert_to(path, tmp_path / "big.ion", inline_all=True)
    assert codec.inline_bytes(doc) >= codec.LARGE_INLINE
    (tmp_path / "big.dcm").rename(tmp_path / "moved.dcm")     # the Ion alone rebuilds it
    result = dicom2ion.to_dicom(tmp_path / "big.ion", tmp_path / "back.dcm")
    assert result["identical"]
    assert (tmp_path / "back.dcm").read_bytes() == (tmp_path / "moved.dcm").read_bytes()
