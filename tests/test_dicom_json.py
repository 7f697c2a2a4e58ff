"""DICOM JSON (PS3.18 Annex F) against pydicom's ``to_json_dict`` on the
corpus, every disagreement classified in ``DISAGREEMENTS``; and back to P10
through the canonical writer (#16)."""

from __future__ import annotations

import base64
import io
import json
import warnings

import pytest

import dicom2ion
from dicom2ion.dictionary import lookup
from dicom2ion.dicom_json import from_dicom_json, to_dicom_json

from conftest import CORPUS, good_corpus_files

pydicom = pytest.importorskip("pydicom")

DISAGREEMENTS = {
    "private group length": "(gggg,0000) of an odd group in implicit VR: dicom2ion's "
                            "dictionary rule gives UL, pydicom knows no VR (UN)",
    "US or SS": "pydicom picks SS from PixelRepresentation for 'US or SS' attributes in "
                "implicit VR; the document has the dictionary's first VR",
    "private VR": "an implicit VR private element that pydicom's private dictionary "
                  "types and DCMTK's (which dicom2ion ships) does not, or the reverse",
    "UN sequence bytes": "a defined-length UN element of a tag the dictionary calls SQ: "
                         "pydicom parses the items, the document keeps the bytes",
    "private sequence": "an implicit VR private element holding items: dicom2ion reads a "
                        "sequence, pydicom keeps UN bytes",
    "big endian binary": "InlineBinary is little endian (PS3.18 F.2.7); pydicom encodes "
                         "the big endian file's bytes",
    "empty component": "PS3.18 F.2.5: an empty value of a multi-valued attribute is null; "
                       "pydicom writes ''",
    "spaces": "spaces around CS/AE components are not significant (PS3.5 6.2): dicom2ion "
              "drops them, pydicom keeps those inside a multi-valued string",
}


def _pydicom_json(path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pds = pydicom.dcmread(str(path), force=True)
        model = pds.to_json_dict(bulk_data_threshold=1 << 40)
        meta = getattr(pds, "file_meta", None)
        if meta is not None and len(meta):
            model.update(meta.to_json_dict(bulk_data_threshold=1 << 40))
    return model, pds.is_little_endian is not False


def _loose(values):
    out = []
    for v in values or ():
        if isinstance(v, str):
            v = v.strip(" ") or None
        out.append(v)
    return out


def _classify(tag: int, ours: dict, theirs: dict, little: bool):
    vr, their_vr = ours.get("vr"), theirs.get("vr")
    if vr != their_vr:
        if vr == "UL" and their_vr == "UN" and tag & 0x10000 and not tag & 0xFFFF:
            return "private group length"
        if {vr, their_vr} == {"US", "SS"} and "SS" in (lookup(tag).vrs if lookup(tag) else ()):
            return "US or SS"
        if vr == "UN" and their_vr == "SQ" and not tag & 0x10000:
            return "UN sequence bytes"
        if vr == "SQ" and their_vr == "UN" and tag & 0x10000:
            return "private sequence"
        if tag & 0x10000 and "UN" in (vr, their_vr):
            return "private VR"
        return None
    if "InlineBinary" in ours and "InlineBinary" in theirs and not little:
        return "big endian binary"
    a, b = ours.get("Value"), theirs.get("Value")
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        if [None if v == "" else v for v in b] == a:
            return "empty component"
        if vr in ("CS", "AE") and _loose(a) == _loose(b):
            return "spaces" if None not in a else "empty component"
    return None


def _compare(ours: dict, theirs: dict, where: str, little: bool, found: dict, problems: list):
    for key in sorted(set(ours) | set(theirs)):
        a, b = ours.get(key), theirs.get(key)
        name = f"{where}{key}"
        if a is None or b is None:
            problems.append(f"{name}: only {'pydicom' if a is None else 'dicom2ion'} has it")
            continue
        if a == b:
            continue
        if a.get("vr") == "SQ" and b.get("vr") == "SQ" and \
                len(a.get("Value") or []) == len(b.get("Value") or []):
            for i, (x, y) in enumerate(zip(a.get("Value") or [], b.get("Value") or [])):
                _compare(x, y, f"{name}[{i}].", little, found, problems)
            continue
        kind = _classify(int(key, 16), a, b, little)
        if kind is None:
            problems.append(f"{name}: {str(a)[:120]} != pydicom {str(b)[:120]}")
        else:
            found[kind] = found.get(kind, 0) + 1


@pytest.mark.parametrize("path", good_corpus_files(), ids=lambda p: p.name)
def test_dicom_json_matches_pydicom(path):
    try:
        theirs, little = _pydicom_json(path)
    except Exception as exc:
        pytest.skip(f"pydicom cannot make JSON of it: {exc}")
    ours = to_dicom_json(path, inline_all=True)
    json.dumps(ours)      # it is JSON
    found: dict = {}
    problems: list = []
    _compare(ours, theirs, "", little, found, problems)
    assert not problems, "\n".join(problems[:20])
    assert set(found) <= set(DISAGREEMENTS)


@pytest.mark.parametrize("path", good_corpus_files()[::4], ids=lambda p: p.name)
def test_dicom_json_back_to_p10(path):
    model = to_dicom_json(path, inline_all=True)
    data = from_dicom_json(json.dumps(model))
    again = to_dicom_json(data, inline_all=True)
    body = {k: v for k, v in model.items() if not k.startswith("0002")}
    body_again = {k: v for k, v in again.items() if not k.startswith("0002")}
    assert body_again == body
    for key in ("00020002", "00020003"):
        if key in model:
            assert again[key] == model[key]


CT = CORPUS / "pydicom" / "test_files__CT_small.dcm"


@pytest.mark.skipif(not CT.exists(), reason="corpus absent")
def test_bulk_data_uris(tmp_path):
    model = to_dicom_json(CT)
    uri = model["7FE00010"]["BulkDataURI"]
    assert uri.startswith("file://") and "offset=" in uri and "length=32768" in uri
    assert "InlineBinary" in model["00431028"] or "BulkDataURI" in model["00431028"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pds = pydicom.dcmread(str(CT))
    back = pydicom.dcmread(io.BytesIO(from_dicom_json(model)))
    assert back.PixelData == pds.PixelData
    # with a bulk folder: the URI names the file in it
    bulk = tmp_path / "bulk"
    dicom2ion.convert_to(CT, tmp_path / "ct.ion", bulk_dir=str(bulk))
    model = to_dicom_json(tmp_path / "ct.ion", bulk_dir=bulk)
    assert str(bulk) in model["7FE00010"]["BulkDataURI"]
    assert pydicom.dcmread(io.BytesIO(from_dicom_json(model))).PixelData == pds.PixelData


def test_json_shapes_by_vr():
    model = {
        "00080005": {"vr": "CS", "Value": ["ISO_IR 192"]},
        "00100010": {"vr": "PN", "Value": [{"Alphabetic": "Yamada^Tarou",
                                            "Ideographic": "山田^太郎"}]},
        "00280010": {"vr": "US", "Value": [4]},
        "00280011": {"vr": "US", "Value": [4]},
        "00280030": {"vr": "DS", "Value": [0.5, 1]},
        "00200013": {"vr": "IS", "Value": [7]},
        "00080008": {"vr": "CS", "Value": ["ORIGINAL", None, "AXIAL"]},
        "00281050": {"vr": "DS"},
        "00540010": {"vr": "US", "Value": [1, 2, 3]},
        "00209165": {"vr": "AT", "Value": ["00100010", "00280010"]},
        "00081140": {"vr": "SQ", "Value": [{"00081150": {"vr": "UI", "Value": ["1.2.3"]}}]},
        "00020010": {"vr": "UI", "Value": ["1.2.840.10008.1.2.1"]},
        "7FE00010": {"vr": "OW", "InlineBinary": base64.b64encode(bytes(32)).decode()},
    }
    data = from_dicom_json(model)
    ds = dicom2ion.read(data)
    assert ds.PatientName.ideographic == "山田^太郎"
    assert ds.PixelSpacing == [0.5, 1.0] and ds.InstanceNumber == 7
    assert ds.ImageType == ["ORIGINAL", None, "AXIAL"]
    assert ds.WindowCenter is None and ds[0x00540010] == [1, 2, 3]
    assert ds[0x00209165] == [0x00100010, 0x00280010]
    assert ds.ReferencedImageSequence[0].ReferencedSOPClassUID == "1.2.3"
    assert to_dicom_json(data)["00100010"] == model["00100010"]
    assert to_dicom_json(data)["00080008"] == model["00080008"]
