"""The dataset view (``dicom2ion.read``) against pydicom on the corpus: every
top-level and nested value equal after normalisation, bulk values equal to
pydicom's bytes, and the known disagreements listed (``EXCEPTIONS``)."""

from __future__ import annotations

import warnings

import pytest

import dicom2ion
from dicom2ion.dataset import BulkValue, Dataset
from dicom2ion.frames import Encapsulated
from dicom2ion.ion import values
from dicom2ion.p10.vr import SWAP_SIZE, swap_bytes
from dicom2ion.typed import is_null

from conftest import good_corpus_files

pydicom = pytest.importorskip("pydicom")

# Files pydicom itself cannot read the way the file means it.
PYDICOM_CANNOT = {
    # deflated with a zlib header pydicom does not expect / misc oddities are
    # added here with the reason when found
}

# (file name or "*", tag) -> why the two readers disagree there.
EXCEPTIONS = {
    # pydicom corrects "US or SS" / "OB or OW" VRs from PixelRepresentation and
    # BitsAllocated (implicit VR files): the view gives the dictionary's first VR,
    # as the Ion document records it.
    "ambiguous VR": "pydicom resolves 'US or SS' from PixelRepresentation",
    # explicit UN of a tag the dictionary knows: pydicom decodes it with the
    # dictionary's VR (config.replace_un_with_known_vr); the document keeps the
    # UN bytes the file has.
    "UN of a known tag": "pydicom re-reads UN with the dictionary VR",
    # implicit VR elements that pydicom's dictionary does not know (private group
    # lengths, private tags the shipped private dictionary knows): pydicom gives
    # UN bytes, the view a typed value; compared by encoding the Ion value.
    "pydicom UN": "pydicom has no VR for the tag; compared as bytes",
    # an implicit VR private element whose value starts with an item tag: the
    # reader reads a sequence (SCHEMA.md 3.3), pydicom UN bytes.
    "private sequence": "pydicom keeps the private sequence as UN bytes",
}

# Normalisations (not disagreements): PN values are compared without empty
# trailing component groups ('A^B=' vs pydicom's 'A^B'); inline OW/OF/...
# blobs of a big endian file are little endian in the document, pydicom's
# bytes are the file's, so pydicom's are swapped before comparing.


def _norm(value):
    """A value in a comparable form: empty -> None, strings stripped, lists
    of components, numbers as float where text."""
    if value is None:
        return None
    if type(value).__name__ == "PersonName":
        value = str(value)
    if isinstance(value, (bytes, bytearray)):
        return bytes(value) if value else None
    if isinstance(value, str):
        text = str(value).strip(" \x00")
        return text or None
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, (list, tuple)) or type(value).__name__ in ("MultiValue", "Sequence"):
        items = [_norm(v) for v in value]
        return items or None
    return value


def _pydicom_elements(pds) -> dict:
    out = {}
    meta = getattr(pds, "file_meta", None)
    if meta is not None:
        for elem in meta:
            out[int(elem.tag)] = elem
    for elem in pds:
        out[int(elem.tag)] = elem
    return out


def _same(ours, theirs) -> bool:
    a, b = _norm(ours), _norm(theirs)
    if a == b:
        return True
    # a single value against a one-item list
    if isinstance(b, list) and len(b) == 1 and a == b[0]:
        return True
    if isinstance(a, list) and len(a) == 1 and b == a[0]:
        return True
    return False


def _compare(ds: Dataset, pds, where: str, problems: list, counts: dict,
             little: bool) -> None:
    theirs = _pydicom_elements(pds)
    ours_tags = set(int(t) for t in ds.keys())
    for tag in sorted(set(theirs) - ours_tags):
        problems.append(f"{where}({tag:08X}): only pydicom has it")
    for element in ds:
        tag = int(element.tag)
        elem = theirs.get(tag)
        if elem is None:
            problems.append(f"{where}({tag:08X}): only dicom2ion has it")
            continue
        value = element.value
        name = f"{where}({tag:08X})"
        if isinstance(value, list) and value and isinstance(value[0], Dataset):
            if elem.VR == "UN":
                counts["private sequence"] += 1
                continue
            items = list(elem.value) if elem.VR == "SQ" else None
            if items is None or len(items) != len(value):
                problems.append(f"{name}: {len(value)} items, pydicom {elem.VR} "
                                f"{len(items) if items is not None else '-'}")
                continue
            for i, (item, pitem) in enumerate(zip(value, items)):
                _compare(item, pitem, f"{name}[{i}]", problems, counts, little)
            counts["sequence"] += 1
            continue
        if isinstance(value, Encapsulated):
            counts["encapsulated"] += 1
            continue
        if isinstance(value, BulkValue):
            if isinstance(elem.value, bytes):
                counts["bulk"] += 1
                if value.read() != elem.value:
                    problems.append(f"{name}: bulk bytes differ")
            continue
        if element.vr == "UN" and ds.known_vr(tag) is not None:
            counts["UN typed by the dictionary"] += 1
        elif element.vr != elem.VR:
            if elem.VR == "UN" and isinstance(elem.value, bytes):
                counts["pydicom UN"] += 1
                raw = ds.raw(tag)
                if values.encode(element.vr, None if is_null(raw) else raw, True, ()) \
                        != elem.value:
                    problems.append(f"{name}: {element.vr} {value!r} encodes differently "
                                    f"from pydicom's UN bytes")
                continue
            if {element.vr, elem.VR} <= {"US", "SS", "OB", "OW"}:
                counts["ambiguous VR"] += 1
                continue
            if element.vr == "UN":
                counts["UN of a known tag"] += 1
                continue
        counts["value"] += 1
        try:
            theirs_value = elem.value
        except Exception as exc:  # pydicom cannot decode it
            problems.append(f"{name}: pydicom fails: {exc}")
            continue
        if element.vr == "PN" and isinstance(value, str):
            value = value.rstrip("=")
        if isinstance(theirs_value, bytes) and not little and \
                element.vr in SWAP_SIZE:
            theirs_value = swap_bytes(theirs_value, SWAP_SIZE[element.vr])
        if not _same(value, theirs_value):
            problems.append(f"{name} {element.vr}: {value!r} != pydicom {theirs_value!r}")


@pytest.mark.parametrize("path", good_corpus_files(), ids=lambda p: p.name)
def test_dataset_view_matches_pydicom(path):
    if path.name in PYDICOM_CANNOT:
        pytest.skip(PYDICOM_CANNOT[path.name])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            pds = pydicom.dcmread(str(path), force=True)
        except Exception as exc:
            pytest.skip(f"pydicom cannot read it: {exc}")
        with dicom2ion.read(path) as ds:
            problems: list = []
            counts: dict = {"value": 0, "sequence": 0, "bulk": 0, "encapsulated": 0,
                            "ambiguous VR": 0, "UN of a known tag": 0, "pydicom UN": 0, "private sequence": 0,
                            "UN typed by the dictionary": 0}
            _compare(ds, pds, "", problems, counts, pds.is_little_endian is not False)
    assert not problems, "\n".join(problems[:20])
    assert counts["value"] > 0
