"""Shallow reads (``load(path, fields=...)``) equal the full read for the
fields asked, on the corpus, in binary and text Ion (#16)."""

from __future__ import annotations

import io
import json
import os
import sys

import pytest

import dicom2ion
from dicom2ion.ion import codec
from dicom2ion.ion.shallow import load_fields

from conftest import FIXTURES, ROOT, good_corpus_files

FIELDS = ["StudyInstanceUID", "PatientName", "PatientID", "Modality", "Rows",
          "TransferSyntaxUID", "PixelData", "ImageType", "NumberOfFrames"]


def _private_names(doc) -> list:
    import re
    return [name for name in doc["dataSet"] if re.fullmatch("[0-9A-F]{8}", name)
            and int(name[:4], 16) & 1][-2:]


@pytest.mark.parametrize("path", good_corpus_files()[::3], ids=lambda p: p.name)
def test_shallow_equals_full(path, tmp_path):
    doc = dicom2ion.convert(path)
    data = codec.dumps(doc)
    full = dicom2ion.load(data)
    wanted = FIELDS + _private_names(full) + ["ReferencedImageSequence"]
    shallow = dicom2ion.load(data, fields=wanted)
    assert {k: v for k, v in shallow.items() if k != "dataSet"} == \
        {k: v for k, v in full.items() if k != "dataSet"}
    expected = [(n, v) for n, v in full["dataSet"].iteritems() if n in set(wanted)] \
        if hasattr(full["dataSet"], "iteritems") else \
        [(n, v) for n, v in full["dataSet"].items() if n in set(wanted)]
    assert sorted(shallow["dataSet"].iteritems(), key=lambda x: x[0]) == \
        sorted(expected, key=lambda x: x[0])
    # text Ion has no lengths: loaded whole and filtered, same answer
    text = codec.dumps(doc, binary=False)
    assert dicom2ion.load(text, fields=wanted) == shallow
    ion = tmp_path / "x.ion"
    ion.write_bytes(data)
    assert dicom2ion.load(ion, fields=wanted) == shallow
    with open(ion, "rb") as fp:
        assert load_fields(fp, wanted) == shallow


def test_shallow_keeps_repeated_fields_and_hand_written_order():
    # a hand-written document (no converter): no early stop, every field looked at
    doc = codec.loads(b"{schemaVersion: \"1.0\", dataSet: {Rows: 2, PatientName: \"A\", "
                      b"PatientID: \"1\", PatientID: \"2\", StudyInstanceUID: \"1.2\"}}")
    data = codec.dumps(doc)
    shallow = dicom2ion.load(data, fields=["PatientID", "StudyInstanceUID"])
    assert list(shallow["dataSet"].iteritems()) == [("PatientID", "1"), ("PatientID", "2"),
                                                    ("StudyInstanceUID", "1.2")]


def test_shallow_rejects_unknown_names():
    with pytest.raises(ValueError):
        dicom2ion.load(b"", fields=["NoSuchKeyword"])


def test_shallow_benchmark_tool_runs(tmp_path):
    sys.path.insert(0, str(ROOT / "tools"))
    import shallow_benchmark
    out = tmp_path / "r.json"
    shallow_benchmark.main(["--size", "1M", "--repeat", "1", "--json", str(out)])
    result = json.loads(out.read_text())
    assert result["document_bytes"] > 1 << 20 and result["shallow_s"] > 0


def test_shallow_read_of_a_cut_document_is_a_clear_error():
    from dicom2ion import IonDocumentError
    doc = dicom2ion.convert(FIXTURES / "example_ct.dcm")
    data = codec.dumps(doc)
    for cut in (20, len(data) // 3, len(data) // 2, len(data) - 5):
        with pytest.raises(IonDocumentError, match="not a readable Ion document"):
            dicom2ion.load(data[:cut], fields=["PatientName", "PixelData"])
