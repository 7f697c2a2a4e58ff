"""The dataset view's access paths, bulk values and frames (#16)."""

from __future__ import annotations

import io
import warnings

import pytest

import dicom2ion
from dicom2ion import BulkDataError
from dicom2ion.frames import Encapsulated
from dicom2ion.typed import DA, DT, TM, PersonName, Tag

from conftest import CORPUS, FIXTURES, good_corpus_files

pydicom = pytest.importorskip("pydicom")

CT = CORPUS / "pydicom" / "test_files__CT_small.dcm"
needs_corpus = pytest.mark.skipif(not CT.exists(), reason="corpus absent")


@needs_corpus
def test_access_by_keyword_tag_and_forms():
    ds = dicom2ion.read(CT)
    name = ds.PatientName
    assert name == ds["PatientName"] == ds[0x00100010] == ds["00100010"] == ds[(0x10, 0x10)]
    assert isinstance(name, PersonName) and name.family_name == "CompressedSamples"
    assert "Rows" in ds and 0x00280010 in ds and "NoSuchKeyword" not in ds
    assert ds.get("NumberOfFrames") is None and ds.get("NumberOfFrames", 7) == 7
    with pytest.raises(KeyError):
        ds["NumberOfFrames"]
    with pytest.raises(AttributeError):
        ds.NumberOfFrames
    assert ds.vr("Rows") == "US" and ds.keyword(0x00280010) == "Rows"
    assert ds.keyword(0x00091001) == "FullFidelity"       # private dictionary, via creator
    assert ds.private("GEMS_IDEN_01", 0x0009, 0x01) == ds[0x00091001]
    with pytest.raises(KeyError):
        ds.private("NO SUCH CREATOR", 0x0009, 0x01)
    assert len(ds) == len(list(ds)) == len(ds.keys())
    tags = [int(e.tag) for e in ds]
    assert tags[:5] == sorted(tags[:5]) and tags[0] >> 16 == 2   # meta group first


@needs_corpus
def test_typed_values():
    ds = dicom2ion.read(CT)
    assert ds.Rows == 128 and isinstance(ds.Rows, int)
    assert ds.ImagePositionPatient == pytest.approx([-158.135803, -179.035797, -75.699997])
    assert isinstance(ds.InstanceNumber, int)
    assert isinstance(ds.StudyDate, DA) and ds.StudyDate.date().year == 2004
    assert isinstance(ds.StudyTime, TM) and ds.StudyTime.time().hour == 7
    assert ds[0x00431012] == [14, 2, 3]                   # SS multi-valued private
    assert list(dicom2ion.read(CT, arrays=True)[0x00431012]) == [14, 2, 3]
    from decimal import Decimal
    assert dicom2ion.read(CT, decimal=True).SliceThickness == Decimal("5.000000")
    assert ds.raw("SliceThickness") == "5.000000"
    assert DT("20200102030405.5+0100").datetime().utcoffset().total_seconds() == 3600
    assert repr(Tag(0x00540010)) == "(0054,0010)"
    name = PersonName("Yamada^Tarou=山田^太郎=やまだ^たろう")
    assert name.ideographic == "山田^太郎" and name.components(2)[1] == "たろう"


@needs_corpus
def test_same_view_from_p10_ion_bytes_and_file_object(tmp_path):
    ion = tmp_path / "ct.ion"
    dicom2ion.convert_to(CT, ion)
    views = [dicom2ion.read(CT), dicom2ion.read(ion), dicom2ion.read(CT.read_bytes()),
             dicom2ion.read(io.BytesIO(CT.read_bytes())), dicom2ion.read(ion.read_bytes())]
    dicts = [v.to_dict() for v in views]
    for d in dicts[1:]:
        assert d.keys() == dicts[0].keys()
        assert d["PatientName"] == dicts[0]["PatientName"] and d["Rows"] == dicts[0]["Rows"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pixel = pydicom.dcmread(str(CT)).PixelData
    for view in views:
        assert view.bulk("PixelData").read() == pixel


@needs_corpus
def test_bulk_from_bulk_dir_and_sha_check(tmp_path):
    bulk = tmp_path / "bulk"
    copy = tmp_path / "ct.dcm"
    copy.write_bytes(CT.read_bytes())
    dicom2ion.convert_to(copy, tmp_path / "ct.ion", bulk_dir=str(bulk))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = pydicom.dcmread(str(CT)).PixelData
    copy.unlink()
    ds = dicom2ion.read(tmp_path / "ct.ion", bulk_dir=bulk)
    assert ds.bulk("PixelData").read() == expected
    with pytest.raises(BulkDataError):
        dicom2ion.read(tmp_path / "ct.ion").bulk("PixelData").read()
    # a source file whose bytes changed is refused
    changed = bytearray(CT.read_bytes())
    changed[ds.bulk("PixelData").offset] ^= 1
    copy.write_bytes(bytes(changed))
    with pytest.raises(BulkDataError):
        dicom2ion.read(tmp_path / "ct.ion").bulk("PixelData").read()


@needs_corpus
def test_deflated_bulk_counts_inflated_bytes():
    path = CORPUS / "pydicom" / "test_files__image_dfl.dcm"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = pydicom.dcmread(str(path)).PixelData
    with dicom2ion.read(path) as ds:
        assert ds.bulk("PixelData").read() == expected


def _encapsulated_files():
    out = []
    for path in good_corpus_files():
        data = path.read_bytes()
        if b"\xe0\x7f\x10\x00OB\x00\x00\xff\xff\xff\xff" in data or \
                b"\xe0\x7f\x10\x00\xff\xff\xff\xff" in data:
            out.append(path)
    return out


@pytest.mark.parametrize("path", _encapsulated_files(), ids=lambda p: p.name)
def test_encapsulated_frames_match_pydicom(path):
    from pydicom.encaps import generate_frames
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pds = pydicom.dcmread(str(path), force=True)
        if "PixelData" not in pds or pds["PixelData"].is_undefined_length is False:
            pytest.skip("no encapsulated pixel data at the top level")
        frames_n = int(pds.get("NumberOfFrames", 1) or 1)
        try:
            theirs = list(generate_frames(pds.PixelData, number_of_frames=frames_n))
        except Exception as exc:
            pytest.skip(f"pydicom cannot split it: {exc}")
    with dicom2ion.read(path) as ds:
        assert isinstance(ds.PixelData, Encapsulated)
        ours = list(ds.frames())
        assert ours == theirs
        assert ds.frame(len(ours) - 1) == theirs[-1]


@needs_corpus
@pytest.mark.parametrize("name", ["test_files__MR_small.dcm", "test_files__SC_rgb_small_odd.dcm",
                                  "test_files__rtdose.dcm", "test_files__rtdose_expb.dcm",
                                  "test_files__MR_small_bigendian.dcm"])
def test_native_frames_match_pydicom(name):
    path = CORPUS / "pydicom" / name
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pds = pydicom.dcmread(str(path))
    data = pds.PixelData
    if not pds.is_little_endian and pds["PixelData"].VR == "OW":
        from dicom2ion.p10.vr import swap_bytes
        data = swap_bytes(data, 2)
    ds = dicom2ion.read(path)
    frames = list(ds.frames())
    count = int(pds.get("NumberOfFrames", 1) or 1)
    size = pds.Rows * pds.Columns * pds.SamplesPerPixel * pds.BitsAllocated // 8
    assert len(frames) == count
    assert frames == [data[i * size:(i + 1) * size] for i in range(count)]
    assert ds.frame(count - 1) == frames[-1]
    with pytest.raises(IndexError):
        ds.frame(count)


def test_shallow_read_of_fixture_equals_full(tmp_path):
    source = FIXTURES / "example_ct.dcm"
    ion = tmp_path / "x.ion"
    dicom2ion.convert_to(source, ion)
    wanted = ["PatientName", "Rows", 0x00280011, "00080060", (0x0020, 0x000D), "PixelData"]
    shallow = dicom2ion.load(ion, fields=wanted)
    full = dicom2ion.load(ion)
    assert {k: v for k, v in shallow.items() if k != "dataSet"} == \
        {k: v for k, v in full.items() if k != "dataSet"}
    names = ["PatientName", "Rows", "Columns", "Modality", "StudyInstanceUID", "PixelData"]
    assert dict(shallow["dataSet"].items()) == {n: full["dataSet"][n] for n in names}
    ds = dicom2ion.read(ion, fields=["PatientName", "PixelData"])
    assert len(ds) == 2 and ds.PatientName == "Doe^Jane"
    assert ds.bulk("PixelData").read() == dicom2ion.read(source).bulk("PixelData").read()


def test_bad_inputs_are_clear_errors(tmp_path):
    from dicom2ion import DicomParseError, IonDocumentError
    from dicom2ion.dicom_json import from_dicom_json
    garbage = tmp_path / "garbage.dcm"
    garbage.write_bytes(b"\x01\x02" * 300)
    with pytest.raises(DicomParseError) as info:
        dicom2ion.read(garbage)
    assert str(garbage) in str(info.value)
    with pytest.raises(IonDocumentError, match="dataSet"):
        dicom2ion.read(b'{schemaVersion: "1.0"}')
    with pytest.raises(IonDocumentError, match="not DICOM JSON"):
        from_dicom_json("{not json")
    with pytest.raises(IonDocumentError, match="00280010"):
        from_dicom_json({"00280010": {"vr": "US", "Value": ["sixteen"]}})
    with pytest.raises(IonDocumentError, match="8 hex digits"):
        from_dicom_json({"Rows": {"vr": "US", "Value": [1]}})
