"""An archive-shaped run from end to end: several roots with the same names,
a damaged file, a non-DICOM file, a symlinked folder and a symlink loop;
convert -> delete the originals -> verify the Ion + bulk folder -> to-dicom,
checking the manifest row by row."""

from __future__ import annotations

import hashlib
import os
import shutil

import pydicom
import pytest

import dicom2ion
from dicom2ion import manifest
from dicom2ion.cli import main

from conftest import CORPUS

PYDICOM = CORPUS / "pydicom"
pytestmark = pytest.mark.skipif(not PYDICOM.is_dir(), reason=f"corpus not found at {CORPUS}")

@pytest.fixture
def archive(tmp_path):
    """{relative source path under tmp_path: corpus file or None (not DICOM)}"""
    layout = {
        "site1/study/ct.dcm": "test_files__CT_small.dcm",
        "site1/study/mr.dcm": "test_files__MR_small_bigendian.dcm",
        "site2/study/ct.dcm": "test_files__JPEG2000.dcm",          # same name, other file
        "site2/study/cut.dcm": "test_files__MR_truncated.dcm",     # damaged
        "site2/notes.txt": None,
        "elsewhere/deflated.dcm": "test_files__image_dfl.dcm",      # reached by a symlink
    }
    for rel, name in layout.items():
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if name is None:
            path.write_text("not DICOM\n")
        else:
            shutil.copy(PYDICOM / name, path)
    os.symlink(tmp_path / "elsewhere", tmp_path / "site1" / "linked")
    os.symlink("..", tmp_path / "site1" / "study" / "loop")
    return layout


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_convert_verify_without_originals_and_rebuild(tmp_path, archive, capsys):
    originals = {rel: (tmp_path / rel).read_bytes() for rel in archive}
    out, bulk = tmp_path / "ion", tmp_path / "bulk"
    code = main(["convert", str(tmp_path / "site1"), str(tmp_path / "site2"), "-o", str(out),
                 "--bulk-dir", str(bulk), "-j", "2"])
    err = capsys.readouterr().err
    assert code == 0, err
    assert "study/loop" in err and "already walked" in err, "the loop is reported"
    rows = {r["source"]: r for r in manifest.read(out / manifest.DEFAULT_NAME).to_pylist()}

    expect_ion = {
        "site1/study/ct.dcm": "site1/study/ct.dcm.ion",
        "site1/study/mr.dcm": "site1/study/mr.dcm.ion",
        "site2/study/ct.dcm": "site2/study/ct.dcm.ion",
        "site1/linked/deflated.dcm": "site1/linked/deflated.dcm.ion",
    }
    for rel, ion in expect_ion.items():
        row = rows.pop(str(tmp_path / rel))
        real = originals["elsewhere/deflated.dcm" if "linked" in rel else rel]
        ds = pydicom.dcmread(tmp_path / rel if "linked" not in rel
                             else tmp_path / "elsewhere" / "deflated.dcm")
        assert row["status"] == "converted", row
        assert row["output"] == str(out / ion) and (out / ion).is_file()
        assert row["output_size"] == (out / ion).stat().st_size
        assert (row["size"], row["sha256"]) == (len(real), _sha(real))
        assert row["sop_instance_uid"] == ds.SOPInstanceUID
        assert row["study_instance_uid"] == ds.StudyInstanceUID
        assert row["modality"] == ds.Modality
        assert (row["rows"], row["columns"]) == (ds.Rows, ds.Columns)
        assert row["transfer_syntax"] == ds.file_meta.TransferSyntaxUID
        assert row["bulk_values"] >= 1 and row["bulk_bytes"] > 0
        assert row["converter_version"] == dicom2ion.__version__ and row["host"]
        assert row["error"] is None and row["seconds"] >= 0
    notes = rows.pop(str(tmp_path / "site2" / "notes.txt"))
    assert (notes["status"], notes["error"], notes["output"]) == \
        ("skipped", "not a DICOM file", None)
    cut = rows.pop(str(tmp_path / "site2" / "study" / "cut.dcm"))
    assert cut["status"] == "damaged" and cut["damage"] >= 1
    loop = rows.pop(str(tmp_path / "site1" / "study" / "loop"))
    assert loop["status"] == "skipped" and "already walked" in loop["error"]
    assert not rows, f"unexpected rows: {sorted(rows)}"

    # the originals go away; the Ion and the bulk folder must be enough
    for root in ("site1", "site2", "elsewhere"):
        shutil.rmtree(tmp_path / root)
    report = tmp_path / "audit.parquet"
    code = main(["verify", str(out), "--bulk-dir", str(bulk), "--manifest", str(report),
                 "-v"])
    text = capsys.readouterr().out
    assert code == 0, text
    audited = {r["source"]: r for r in manifest.read(report).to_pylist()}
    converted = {str(out / ion): rel for rel, ion in expect_ion.items()}
    converted[str(out / "site2/study/cut.dcm.ion")] = "site2/study/cut.dcm"
    assert set(audited) == set(converted)
    for ion, rel in converted.items():
        row = audited[ion]
        real = originals["elsewhere/deflated.dcm" if "linked" in rel else rel]
        assert row["status"] == "identical" and row["kind"] == "ion"
        assert row["output_sha256"] == _sha(real) == row["sha256"]
        assert f"identical  {ion}" in text

    back = tmp_path / "back"
    assert main(["to-dicom", str(out), "-o", str(back), "--bulk-dir", str(bulk), "-q"]) == 0
    for ion, rel in converted.items():
        real = originals["elsewhere/deflated.dcm" if "linked" in rel else rel]
        assert (back / os.path.relpath(ion, out)[:-4]).read_bytes() == real
    rebuilt = manifest.read(back / manifest.DEFAULT_NAME).to_pylist()
    assert sorted(r["status"] for r in rebuilt) == \
        ["converted"] * (len(converted) - 1) + ["damaged"]     # (the cut file says so)
    assert all(r["output_sha256"] == r["sha256"] for r in rebuilt)


def test_a_killed_run_keeps_its_finished_parts_and_resumes(tmp_path, archive, capsys,
                                                          monkeypatch):
    from dicom2ion import engine, executors

    out = tmp_path / "ion"
    roots = [str(tmp_path / "site1"), str(tmp_path / "site2")]
    calls = []

    def dies_on_the_third(task, progress=None):
        calls.append(task.source)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return engine.process(task, progress)

    monkeypatch.setattr(executors, "process", dies_on_the_third)
    code = main(["convert", *roots, "-o", str(out), "-j", "1", "-q"])
    monkeypatch.undo()
    assert code == 130
    assert "interrupted" in capsys.readouterr().err
    finished = manifest.read(out / manifest.DEFAULT_NAME).to_pylist()
    assert [r["status"] for r in finished if r["status"] == "converted"] == ["converted"] * 2
    assert main(["convert", *roots, "-o", str(out), "-j", "1", "-q"]) == 0
    err = capsys.readouterr().err
    assert "2 converted, 1 damaged, 2 unchanged" in err, err
    table = manifest.read(out / manifest.DEFAULT_NAME)
    assert table.num_rows == len(set(table.column("source").to_pylist())), \
        "after a finished run, one row per input"
