"""Ion documents that are edited, hand-written or broken: the writer names
the field path, checks every referenced value, and never leaves a partial
output file."""

from __future__ import annotations

import copy
import os

import pytest

import dicom2ion
from dicom2ion import BulkDataError, Dicom2IonError, IonDocumentError
from dicom2ion.ion import codec

from conftest import CORPUS

CT = CORPUS / "pydicom" / "test_files__CT_small.dcm"
SEQ = CORPUS / "pydicom" / "test_files__rtplan.dcm"

needs_corpus = pytest.mark.skipif(not CT.exists(), reason=f"corpus not found at {CORPUS}")


def _doc(path):
    """A plain-Python copy of the document (as a user would edit it)."""
    return copy.deepcopy(dicom2ion.convert(path))


def _minimal(data_set: dict) -> dict:
    return {"dataSet": data_set}


def test_hand_written_document_canonical():
    doc = _minimal({
        "PatientName": "Doe^Jane",
        "PatientID": "123",
        "Rows": 4,
        "SOPClassUID": "1.2.840.10008.5.1.4.1.1.7",
        "ReferencedStudySequence": [{"ReferencedSOPInstanceUID": "1.2.3"}],
        "00091010": dicom2ion_annotated("LO", "private text"),
        "00090010": dicom2ion_annotated("LO", "ACME"),
    })
    data = dicom2ion.to_dicom_bytes(doc, canonical=True)
    back = dicom2ion.convert(data)["dataSet"]
    assert back["PatientName"] == "Doe^Jane"
    assert back["Rows"] == 4
    assert back["ReferencedStudySequence"][0]["ReferencedSOPInstanceUID"] == "1.2.3"
    assert back["00091010"] == "private text"
    # private attributes come last
    assert list(back)[-2:] == ["00090010", "00091010"]


def dicom2ion_annotated(vr, value):
    from dicom2ion.ion.visitor import annotate

    return annotate(value, vr)


@pytest.mark.parametrize("data_set, path, words", [
    ({"PatientNme": "x"}, "dataSet.PatientNme", "unknown keyword"),
    ({"Rows": "many"}, "dataSet.Rows", "VR US"),
    ({"Rows": 70000}, "dataSet.Rows", "does not fit"),
    ({"PatientName": 5}, "dataSet.PatientName", "VR PN"),
    ({"ReferencedStudySequence": [{"Rows": "x"}]}, "dataSet.ReferencedStudySequence[0].Rows",
     "VR US"),
    ({"ReferencedStudySequence": ["not a struct"]}, "dataSet.ReferencedStudySequence[0]",
     "must be a struct"),
    ({"00091010": "no VR for a private tag"}, "dataSet.00091010", "no VR known"),
    ({"PixelData": {"dataOffset": 0}}, "dataSet.PixelData", "bulk reference"),
    ({"FrameIncrementPointer": "0018106"}, "dataSet.FrameIncrementPointer", "8 hex digits"),
])
def test_invalid_documents_name_the_field(data_set, path, words):
    with pytest.raises(IonDocumentError) as info:
        dicom2ion.to_dicom_bytes(_minimal(data_set), canonical=True)
    message = str(info.value)
    assert path in message and words in message, message


def test_document_without_data_set():
    with pytest.raises(IonDocumentError, match="dataSet"):
        dicom2ion.to_dicom_bytes({"fileInfo": {}})


def test_unreadable_ion():
    with pytest.raises(IonDocumentError, match="not a readable Ion document"):
        dicom2ion.load(b"{ this is : not ion ")


@needs_corpus
def test_missing_source_is_a_clear_error(tmp_path):
    doc = _doc(CT)
    del doc["sourceInfo"]
    out = tmp_path / "out.dcm"
    with pytest.raises(BulkDataError, match="no source file"):
        dicom2ion.to_dicom(doc, out)
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir()], "no temporary file may be left behind"


@needs_corpus
def test_source_with_other_bytes_is_detected(tmp_path):
    doc = _doc(CT)
    wrong = tmp_path / "other.dcm"
    data = bytearray(CT.read_bytes())
    pixels = doc["dataSet"]["PixelData"]
    data[pixels["dataOffset"] + pixels["length"] // 2] ^= 0xFF   # inside a referenced value
    wrong.write_bytes(bytes(data))
    out = tmp_path / "out.dcm"
    with pytest.raises(BulkDataError, match="do not match sha256"):
        dicom2ion.to_dicom(doc, out, source=str(wrong))
    assert not out.exists()


@needs_corpus
def test_edited_value_fails_exact_mode_but_not_canonical(tmp_path):
    doc = _doc(CT)
    doc["dataSet"]["PatientName"] = "Edited^Name"
    with pytest.raises(Dicom2IonError, match="differs from fileInfo.sha256"):
        dicom2ion.to_dicom_bytes(doc)
    result = dicom2ion.to_dicom(doc, tmp_path / "edited.dcm", canonical=True)
    assert not result["identical"]
    assert dicom2ion.convert(tmp_path / "edited.dcm")["dataSet"]["PatientName"] == "Edited^Name"


@needs_corpus
def test_canonical_mode_with_a_chosen_transfer_syntax(tmp_path):
    doc = _doc(CT)
    for uid, encoding in (("1.2.840.10008.1.2", "implicit-le"),
                          ("1.2.840.10008.1.2.2", "explicit-be"),
                          ("1.2.840.10008.1.2.1.99", "deflated-explicit-le")):
        data = dicom2ion.to_dicom_bytes(doc, canonical=True, transfer_syntax=uid)
        back = dicom2ion.convert(data)
        assert back["fileInfo"]["encoding"] == encoding
        assert back["dataSet"]["TransferSyntaxUID"] == uid
        assert back["dataSet"]["Rows"] == doc["dataSet"]["Rows"]
        assert back["dataSet"]["PatientName"] == doc["dataSet"]["PatientName"]


@needs_corpus
def test_text_ion_with_long_values_loads(tmp_path):
    doc = dicom2ion.convert(CT, inline_all=True)
    text = codec.dumps(doc, binary=False)
    assert len(text) > 30000  # the pixel data is inline
    assert dicom2ion.to_dicom_bytes(dicom2ion.load(text)) == CT.read_bytes()


@needs_corpus
def test_nested_document_roundtrip_after_plain_copy():
    # a plain-Python deep copy (no amazon.ion types) must rebuild too
    doc = _doc(SEQ)
    assert dicom2ion.to_dicom_bytes(doc, source=str(SEQ)) == SEQ.read_bytes()


@needs_corpus
@pytest.mark.parametrize("options", [{}, {"check": False}, {"canonical": True}],
                         ids=["checked-whole", "unchecked", "canonical"])
def test_a_wrong_value_is_named_however_the_rebuild_is_checked(tmp_path, options):
    # exact mode checked against fileInfo.sha256 reads values without their own
    # digest and checks them one by one only on a mismatch; the others check each
    doc = _doc(CT)
    wrong = tmp_path / "other.dcm"
    data = bytearray(CT.read_bytes())
    pixels = doc["dataSet"]["PixelData"]
    data[pixels["dataOffset"]] ^= 0xFF
    wrong.write_bytes(bytes(data))
    out = tmp_path / "out.dcm"
    with pytest.raises(BulkDataError, match=r"dataSet\.PixelData: the bytes in .* do not match"):
        dicom2ion.to_dicom(doc, out, source=str(wrong), **options)
    assert not out.exists()
    dicom2ion.to_dicom(doc, out, source=str(CT), **options)    # (the right source: rebuilt)
    assert out.read_bytes() == CT.read_bytes() or options.get("canonical")
