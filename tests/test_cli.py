"""The dicom2ion command: batch conversion, to-dicom, verify and dump."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

import dicom2ion
from dicom2ion.cli import main

from conftest import CORPUS

PYDICOM = CORPUS / "pydicom"
needs_corpus = pytest.mark.skipif(not PYDICOM.is_dir(), reason=f"corpus not found at {CORPUS}")

GOOD = ["test_files__CT_small.dcm", "test_files__MR_small_bigendian.dcm",
        "test_files__image_dfl.dcm", "test_files__JPEG2000.dcm"]


@pytest.fixture
def tree(tmp_path):
    """A small archive: good files in nested folders, a text file, a broken file."""
    root = tmp_path / "archive"
    (root / "a" / "b").mkdir(parents=True)
    for i, name in enumerate(GOOD):
        shutil.copy(PYDICOM / name, root / ("a" if i % 2 else "a/b") / name)
    (root / "notes.txt").write_text("not dicom\n")
    shutil.copy(PYDICOM / "test_files__rtplan_truncated.dcm", root / "broken.dcm")
    return root


@needs_corpus
def test_convert_folder_mirrors_tree_and_reports(tree, tmp_path, capsys):
    out = tmp_path / "out"
    code = main(["convert", str(tree), "-o", str(out), "-q", "--strict"])
    err = capsys.readouterr().err
    assert code == 1, "a failed file makes the exit code non-zero"
    assert "4 converted, 1 skipped, 1 failed" in err
    assert "broken.dcm" in err and "offset" in err and "(300A," in err
    for i, name in enumerate(GOOD):
        ion = out / ("a" if i % 2 else "a/b") / (name + ".ion")
        assert ion.exists()
        doc = dicom2ion.load(ion)
        assert str(doc["fileInfo"]["sha256"]) == dicom2ion.convert(PYDICOM / name)["fileInfo"]["sha256"]
    assert not (out / "broken.dcm.ion").exists(), "no output for a failed file"
    leftovers = [p for p in out.rglob("*") if p.name.startswith(".dicom2ion-")]
    assert not leftovers, "temporary files must not be left behind"


@needs_corpus
def test_convert_skips_non_dicom_with_a_line(tree, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["convert", str(tree), "-o", str(out), "--jobs", "2"]) == 0
    err = capsys.readouterr().err
    assert "skipped" in err and "notes.txt" in err and "not a DICOM file" in err
    # without --strict the truncated file is converted losslessly, and said damaged
    assert "4 converted, 1 damaged, 1 skipped, 0 failed" in err, err
    assert f"damaged  {tree / 'broken.dcm'}: 1 problem (first: offset" in err
    assert (out / "broken.dcm.ion").exists()


@needs_corpus
def test_convert_single_file_text_and_back(tmp_path, capsys):
    src = PYDICOM / "test_files__MR_small_bigendian.dcm"
    ion = tmp_path / "mr.ion"
    assert main(["convert", str(src), "-o", str(ion), "--pretty"]) == 0
    assert ion.read_bytes().startswith(b"$ion_1_0")
    rebuilt = tmp_path / "mr.dcm"
    assert main(["to-dicom", str(ion), "-o", str(rebuilt)]) == 0
    assert rebuilt.read_bytes() == src.read_bytes()
    assert "identical to the original" in capsys.readouterr().err


@needs_corpus
def test_bulk_dir_rebuilds_without_the_original(tmp_path):
    src = tmp_path / "ct.dcm"
    shutil.copy(PYDICOM / "test_files__CT_small.dcm", src)
    bulk = tmp_path / "bulk"
    assert main(["convert", str(src), "-o", str(tmp_path / "ct.ion"), "--bulk-dir", str(bulk),
                 "-q"]) == 0
    original = src.read_bytes()
    src.unlink()
    out = tmp_path / "rebuilt.dcm"
    assert main(["to-dicom", str(tmp_path / "ct.ion"), "-o", str(out)]) == 1  # no source
    assert not out.exists()
    assert main(["to-dicom", str(tmp_path / "ct.ion"), "-o", str(out), "--bulk-dir",
                 str(bulk)]) == 0
    assert out.read_bytes() == original


@needs_corpus
def test_inline_all_has_no_references(tmp_path):
    src = PYDICOM / "test_files__CT_small.dcm"
    ion = tmp_path / "ct.ion"
    assert main(["convert", str(src), "-o", str(ion), "--inline-all", "-q"]) == 0
    assert b"dataOffset" not in ion.read_bytes()
    doc = dicom2ion.load(ion)
    assert dicom2ion.to_dicom_bytes(doc, source=None) == src.read_bytes()


@needs_corpus
def test_verify_reports_identical_and_failed(tree, tmp_path, capsys):
    report = tmp_path / "report.json"
    code = main(["verify", str(tree), "--json", str(report), "-j", "1", "-q", "--strict"])
    out = capsys.readouterr().out
    assert code == 1, "a broken file makes verify --strict fail"
    assert "4 identical, 0 different, 1 failed" in out
    assert "unreadable" in out
    data = json.loads(report.read_text())
    assert data["summary"]["identical"] == 4
    statuses = {os.path.basename(f["path"]): f["status"] for f in data["files"]}
    assert statuses["broken.dcm"] == "failed"
    assert all(statuses[n] == "identical" for n in GOOD)
    checks = [f["checks"] for f in data["files"] if f["status"] == "identical"]
    assert all(c["textEqualsBinary"] and c["fileSha256"] and c["referencesVerified"]
               for c in checks)


@needs_corpus
def test_verify_says_a_damaged_file_is_identical_and_damaged(tree, capsys):
    assert main(["verify", str(tree / "broken.dcm")]) == 0
    assert f"identical  {tree / 'broken.dcm'} (damaged: 1 problem)" in capsys.readouterr().out


@needs_corpus
def test_verify_all_good_is_exit_zero(tmp_path, capsys):
    assert main(["verify", str(PYDICOM / GOOD[0]), "-q"]) == 0
    assert "1 identical" in capsys.readouterr().out


def test_diff_events_classifies():
    from dicom2ion.events import Element, ItemStart, Preamble, SequenceStart, UNDEFINED
    from dicom2ion.verify import diff_events

    a = [Preamble(bytes(128)), Element(0x00100010, "PN", 4, 10, b"AB  "),
         SequenceStart(0x00081140, "SQ", UNDEFINED, 20), ItemStart(28, 8),
         Element(0x00081150, "UI", 4, 36, b"1.2\0")]
    b = [Preamble(b"\1" * 128), Element(0x00100010, "PN", 2, 10, b"AB"),
         SequenceStart(0x00081140, "SQ", 30, 20), ItemStart(28, 8),
         Element(0x00081150, "UI", 4, 36, b"1.3\0")]
    kinds = [(d["kind"], d["path"]) for d in diff_events(a, b)]
    assert kinds == [("preamble", ""), ("padding", "(0010,0010)"),
                     ("length form", "(0008,1140)"), ("value", "(0008,1140)/(0008,1150)")]


@needs_corpus
def test_dump_prints_the_tree(capsys):
    assert main(["dump", str(PYDICOM / "test_files__UN_sequence.dcm")]) == 0
    out = capsys.readouterr().out
    assert any("(0008,1115) SQ" in line and line.endswith("ReferencedSeriesSequence")
               for line in out.splitlines())
    assert "(fffe,e00d) na (ItemDelimitationItem)" in out
    assert "explicit VR little endian" in out


@needs_corpus
def test_dump_of_a_broken_file_lists_it_and_strict_is_a_clear_error(capsys):
    path = str(PYDICOM / "test_files__MR_truncated.dcm")
    assert main(["dump", path]) == 0
    out = capsys.readouterr().out
    assert "# damage (truncated) at (7FE0,0010)" in out and "PixelData" in out
    assert main(["dump", "--strict", path]) == 1
    err = capsys.readouterr().err
    assert "MR_truncated" in err and "offset" in err and "(7FE0,0010)" in err
    assert "Traceback" not in err


def test_console_script_runs():
    result = subprocess.run([sys.executable, "-m", "dicom2ion", "--version"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and dicom2ion.__version__ in result.stdout


def test_missing_input_is_not_a_traceback(tmp_path, capsys):
    code = main(["convert", str(tmp_path / "nope.dcm"), "-o", str(tmp_path / "x.ion")])
    err = capsys.readouterr().err
    assert code == 1 and "nope.dcm" in err and "Traceback" not in err
