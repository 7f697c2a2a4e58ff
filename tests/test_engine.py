"""The batch engine: the pure per-file function, pluggable executors, rows
as they happen, Ctrl-C, the Parquet manifest, resume, reproducible output
and the damage contract."""

from __future__ import annotations

import json
import os
import pickle
import shutil
import sys
import time

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import dicom2ion
from dicom2ion import engine, executors, manifest
from dicom2ion.cli import main

from conftest import CORPUS

PYDICOM = CORPUS / "pydicom"
needs_corpus = pytest.mark.skipif(not PYDICOM.is_dir(), reason=f"corpus not found at {CORPUS}")
CT = PYDICOM / "test_files__CT_small.dcm"
MR = PYDICOM / "test_files__MR_small_bigendian.dcm"


def _task(tmp_path, src=CT, **options):
    base = {"standard_limit": 256, "private_limit": 256, "inline_all": False,
            "bulk_dir": None, "text": False, "pretty": False, "reproducible": False,
            "force": False, "strict": False}
    base.update(options)
    st = os.stat(src)
    return engine.Task(seq=0, command="convert", source=str(src),
                       output=str(tmp_path / "x.ion"), size=st.st_size, mtime_ns=st.st_mtime_ns,
                       relative=os.path.basename(src), options=engine.freeze_options(base),
                       run_id="r1")


@needs_corpus
def test_process_is_pure_and_picklable(tmp_path, capsys):
    task = _task(tmp_path, reproducible=True)
    assert pickle.loads(pickle.dumps(task)) == task
    seen = []
    row = engine.process(task, lambda seq, n: seen.append((seq, n)))
    assert capsys.readouterr() == ("", ""), "the work prints nothing"
    assert pickle.loads(pickle.dumps(row)) == row
    assert row["status"] == "converted" and row["output"] == task.output
    assert seen and seen[-1] == (0, CT.stat().st_size), "progress counts the bytes read"
    assert row["sha256"] == dicom2ion.convert(CT)["fileInfo"]["sha256"]
    assert row["sop_instance_uid"] == "1.3.6.1.4.1.5962.1.1.1.1.1.20040119072730.12322"
    assert (row["rows"], row["columns"], row["modality"]) == (128, 128, "CT")
    assert row["output_size"] == os.path.getsize(task.output)
    assert row["bulk_values"] >= 1 and row["bulk_bytes"] >= 128 * 128 * 2
    first_bytes = open(task.output, "rb").read()
    again = engine.process(task)
    assert open(task.output, "rb").read() == first_bytes
    assert {k: v for k, v in again.items() if k != "seconds"} == \
        {k: v for k, v in row.items() if k != "seconds"}, "a rerun is harmless and the same"


def test_process_reports_a_bad_file_as_a_row(tmp_path):
    bad = tmp_path / "bad.dcm"
    bad.write_bytes(bytes(128) + b"DICM" + b"\x02\x00\x10\x00UI\xff\x00")
    row = engine.process(_task(tmp_path, bad, strict=True))
    assert row["status"] == "failed" and "bad.dcm" in row["error"] and row["output"] is None
    assert not (tmp_path / "x.ion").exists()
    row = engine.process(_task(tmp_path, bad))       # salvaged: converted, said damaged
    assert row["status"] == "damaged" and row["damage"] == 1 and row["output"]
    assert row["error"].startswith("1 problem (first: offset 132, tag (0002,0010): truncated")


class _Recording:
    """An executor from outside the package: checks that each row reaches
    the client (on_row) before the next task is even started."""

    instances = []

    def __init__(self, jobs, **options):
        self.delivered = []
        self.closed = None
        _Recording.instances.append(self)

    def map(self, tasks, progress):
        for i, task in enumerate(tasks):
            assert len(self.delivered) == i, "rows are handed on as they happen"
            yield engine.process(task, progress)

    def close(self, cancel=False):
        self.closed = cancel


@needs_corpus
def test_an_executor_plugs_in_and_rows_arrive_as_they_happen(tmp_path, capsys):
    executors.register("recording", _Recording)
    tree = tmp_path / "in"
    tree.mkdir()
    for name in ("a.dcm", "b.dcm", "c.dcm"):
        shutil.copy(CT, tree / name)
    _Recording.instances.clear()
    from dicom2ion import cli

    real = cli.engine.run_batch

    def spy(items, executor, *, on_row, **kw):
        def recorded(row, write):
            executor.delivered.append(row["source"])
            on_row(row, write)
        return real(items, executor, on_row=recorded, **kw)

    cli.engine.run_batch = spy
    try:
        parser = cli.build_parser()   # the new engine is a choice now
        assert "recording" in parser._subparsers._group_actions[0].choices["convert"] \
            .format_help()
        assert main(["convert", str(tree), "-o", str(tmp_path / "out"), "--engine",
                     "recording", "-q"]) == 0
    finally:
        cli.engine.run_batch = real
    (ex,) = _Recording.instances
    assert len(ex.delivered) == 3 and ex.closed is False
    assert "3 converted" in capsys.readouterr().err


@needs_corpus
def test_ctrl_c_keeps_what_finished(tmp_path):
    tasks = [engine.Task(**{**_task(tmp_path).__dict__, "seq": i,
                            "output": str(tmp_path / f"{i}.ion")}) for i in range(3)]

    class Interrupted:
        closed = None

        def map(self, tasks, progress):
            yield engine.process(tasks[0])
            raise KeyboardInterrupt

        def close(self, cancel=False):
            Interrupted.closed = cancel

    writer = manifest.ManifestWriter(str(tmp_path / "m.parquet"), "run")
    printed = []
    outcome = engine.run_batch(tasks, Interrupted(), on_row=lambda r, w: printed.append(r),
                               manifest=writer, keep_rows=True)
    assert outcome.interrupted and Interrupted.closed is True
    assert len(outcome.rows) == 1 and printed == outcome.rows
    table = manifest.read(tmp_path / "m.parquet")
    assert table.column("source").to_pylist() == [str(CT)]
    assert "interrupted: 1 converted" in engine.summary(outcome, ("converted", "failed"))


def test_summary_units_are_honest():
    rows = [{"status": "converted", "size": 2_500_000}]
    text = engine.summary(engine.Outcome.of(rows, 2.0), ("converted",))
    assert "2.5 MB in 2.00 s" in text and "1.2 MB/s" in text


@needs_corpus
def test_process_pool_runs_every_task_and_reports_progress(tmp_path):
    tasks = [engine.Task(**{**_task(tmp_path, src).__dict__, "seq": i,
                            "output": str(tmp_path / f"{i}.ion")})
             for i, src in enumerate([CT, MR] * 5)]
    pool = executors.ProcessExecutor(2, group_files=2)
    seen = []
    try:
        rows = list(pool.map(tasks, lambda seq, n: seen.append((seq, n))))
    finally:
        pool.close()
    assert sorted(r["seq"] for r in rows) == list(range(10))
    assert all(r["status"] == "converted" for r in rows)
    assert all(seq in range(10) and n >= 0 for seq, n in seen)


def test_pool_groups_shrink_towards_the_end_and_keep_every_task_in_order():
    pool = executors.ProcessExecutor.__new__(executors.ProcessExecutor)   # (no processes)
    pool.jobs, pool.group_files, pool.group_bytes = 2, 8, 16 << 20
    tasks = [engine.Task(seq=i, command="convert", source=f"/x/{i}", output=None, size=1000)
             for i in range(100)]
    groups = list(pool._groups(tasks))
    assert [t.seq for g in groups for t in g] == list(range(100))
    assert len(groups[0]) == 8 and len(groups[-1]) == 1, [len(g) for g in groups]
    assert all(len(a) >= len(b) for a, b in zip(groups, groups[1:]))
    big = [engine.Task(seq=i, command="convert", source="/x", output=None, size=10 << 20)
           for i in range(8)]
    assert [len(g) for g in pool._groups(big)] == [2, 1, 1, 1, 1, 1, 1], \
        "a group closes at 16 MiB, and at a quarter of the files left"
    assert [len(g) for g in pool._groups(iter(tasks))] == [8] * 12 + [4], \
        "tasks of unknown number: full groups"


def test_manifest_prefetch_imports_pyarrow_in_a_thread_that_is_gone_after_close(tmp_path):
    writer = manifest.ManifestWriter(str(tmp_path / "m.parquet"), "run1")
    manifest.prefetch()
    writer.add({"source": "/x/0", "size": 1, "status": "converted"})
    writer.close()
    assert "pyarrow.parquet" in sys.modules
    assert not any(t.is_alive() for t in manifest._PREFETCH)
    assert pq.read_table(str(tmp_path / "m.parquet")).num_rows == 1


# -- the manifest --------------------------------------------------------------------

@needs_corpus
def test_the_command_writes_its_manifest_without_importing_numpy(tmp_path):
    import subprocess

    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(CT, folder / "ct.dcm")
    shutil.copy(MR, folder / "mr.dcm")
    out = tmp_path / "out"
    result = subprocess.run([sys.executable, "-X", "importtime", "-m", "dicom2ion", "convert",
                             str(folder), "-o", str(out), "-q", "-j", "1"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    imported = {line.rsplit("|", 1)[-1].strip() for line in result.stderr.splitlines()
                if line.startswith("import time:")}
    assert "pyarrow.parquet" in imported and "numpy" not in imported
    table = pq.read_table(out / manifest.DEFAULT_NAME)
    assert sorted(table.column("status").to_pylist()) == ["converted", "converted"]
    assert table.schema == manifest.schema()


ISSUE_COLUMNS = ["source", "size", "mtime", "sha256", "status", "error", "output",
                 "output_size", "bulk_values", "bulk_bytes", "transfer_syntax", "sop_class_uid",
                 "sop_instance_uid", "series_instance_uid", "study_instance_uid", "patient_id",
                 "modality", "study_date", "rows", "columns", "number_of_frames",
                 "converter_version", "options", "seconds", "host"]


def test_manifest_has_the_issue_columns_and_reads_as_one_table(tmp_path):
    path = tmp_path / "m.parquet"
    writer = manifest.ManifestWriter(str(path), "run1", every=2)
    for i in range(5):
        writer.add({"source": f"/x/{i}", "size": i, "mtime_ns": 1_700_000_000_123_456_789 + i,
                    "status": "converted", "rows": 2})
        if i == 2:
            parts = [n for n in os.listdir(path) if n.endswith(".parquet")]
            assert len(parts) == 1, "written in parts as the run goes"
    writer.close()
    table = pq.read_table(path)
    assert table.num_rows == 5
    assert table.column_names[:len(ISSUE_COLUMNS)] == ISSUE_COLUMNS
    assert table.schema.field("mtime").type == pa.timestamp("us", tz="UTC")
    assert table.column("mtime_ns").to_pylist()[0] == 1_700_000_000_123_456_789
    newest = manifest.latest(str(path))
    assert len(newest) == 5 and newest.get("/x/4")["size"] == 4


@needs_corpus
def test_resume_converts_only_what_changed(tmp_path, capsys):
    tree = tmp_path / "in"
    tree.mkdir()
    shutil.copy(CT, tree / "ct.dcm")
    shutil.copy(MR, tree / "mr.dcm")
    out = tmp_path / "out"
    argv = ["convert", str(tree), "-o", str(out), "-q"]
    assert main(argv) == 0
    first = capsys.readouterr().err
    assert "2 converted" in first and f"manifest: {out / manifest.DEFAULT_NAME}" in first
    ion_before = (out / "ct.dcm.ion").stat().st_mtime_ns
    assert main(argv) == 0
    assert "0 converted, 2 unchanged" in capsys.readouterr().err
    assert (out / "ct.dcm.ion").stat().st_mtime_ns == ion_before, "not rewritten"
    table = manifest.read(out / manifest.DEFAULT_NAME)
    assert table.num_rows == 2, "a finished run leaves one row per input"
    assert sorted(table.column("status").to_pylist()) == ["unchanged", "unchanged"]
    assert all(table.column("sop_instance_uid").to_pylist()), "unchanged rows keep the facts"
    os.utime(tree / "ct.dcm", ns=(time.time_ns(), time.time_ns()))
    assert main(argv + ["--checksum"]) == 0
    assert "0 converted, 2 unchanged" in capsys.readouterr().err, "same sha256: unchanged"
    assert main(argv) == 0
    assert "0 converted, 2 unchanged" in capsys.readouterr().err, "the new mtime was recorded"
    os.utime(tree / "ct.dcm", ns=(time.time_ns(), time.time_ns() + 10**9))
    assert main(argv) == 0
    assert "1 converted, 1 unchanged" in capsys.readouterr().err, "new mtime: converted"
    assert main(argv + ["--text"]) == 0
    assert "2 converted" in capsys.readouterr().err, "other options: converted again"
    assert main(argv + ["--text", "--overwrite"]) == 0
    assert "2 converted" in capsys.readouterr().err
    (out / "mr.dcm.ion").unlink()
    assert main(argv + ["--text"]) == 0
    assert "1 converted, 1 unchanged" in capsys.readouterr().err, "a lost output is redone"


@needs_corpus
def test_reproducible_output_is_byte_identical(tmp_path):
    a, b = tmp_path / "a.ion", tmp_path / "b.ion"
    for out in (a, b):
        assert main(["convert", str(CT), "-o", str(out), "--reproducible", "-q"]) == 0
    assert a.read_bytes() == b.read_bytes()
    assert "createdAt" not in dicom2ion.load(a)["fileInfo"]
    for out in (a, b):
        assert main(["convert", str(CT), "-o", str(out), "-q"]) == 0
    assert a.read_bytes() != b.read_bytes(), "without it, createdAt differs"


# -- damaged files (the contract with the salvage reader) ---------------------------

def _damaging(monkeypatch):
    import dicom2ion.verify  # noqa: F401  (patched below)
    module = sys.modules["dicom2ion.convert"]
    real = module.convert

    def convert(source, **kw):
        doc = real(source, **kw)
        if os.path.basename(str(getattr(source, "name", source))) == "hurt.dcm":
            doc["damage"] = [
                {"offset": 1234, "path": "(7FE0,0010)", "kind": "truncated",
                 "message": "input ends inside a value"},
                {"offset": 2000, "path": "", "kind": "raw", "message": "stray bytes kept"}]
        return doc

    monkeypatch.setattr(module, "convert", convert)
    monkeypatch.setattr(sys.modules["dicom2ion.verify"], "convert", convert)


@needs_corpus
def test_damaged_files_are_counted_printed_and_exit_zero(tmp_path, monkeypatch, capsys):
    _damaging(monkeypatch)
    tree = tmp_path / "in"
    tree.mkdir()
    shutil.copy(CT, tree / "hurt.dcm")
    shutil.copy(MR, tree / "fine.dcm")
    out = tmp_path / "out"
    assert main(["convert", str(tree), "-o", str(out), "-j", "1"]) == 0
    err = capsys.readouterr().err
    assert (f"damaged  {tree / 'hurt.dcm'}: 2 problems (first: offset 1234, tag "
            "(7FE0,0010): input ends inside a value)") in err
    assert "1 converted, 1 damaged" in err, err
    rows = {os.path.basename(r["source"]): r
            for r in manifest.read(out / manifest.DEFAULT_NAME).to_pylist()}
    assert rows["hurt.dcm"]["status"] == "damaged" and rows["hurt.dcm"]["damage"] == 2
    assert rows["fine.dcm"]["status"] == "converted" and rows["fine.dcm"]["damage"] == 0
    assert main(["verify", str(tree), "-j", "1"]) == 0
    text = capsys.readouterr().out
    assert f"identical  {tree / 'hurt.dcm'} (damaged: 2 problems)" in text


# -- audit without the originals ----------------------------------------------------

@needs_corpus
def test_verify_ion_with_the_bulk_folder_after_the_originals_are_gone(tmp_path, capsys):
    tree = tmp_path / "in"
    tree.mkdir()
    shutil.copy(CT, tree / "ct.dcm")
    shutil.copy(MR, tree / "mr.dcm")
    out, bulk = tmp_path / "out", tmp_path / "bulk"
    assert main(["convert", str(tree), "-o", str(out), "--bulk-dir", str(bulk), "-q"]) == 0
    shutil.rmtree(tree)
    assert main(["verify", str(out), "--bulk-dir", str(bulk), "-v"]) == 0
    text = capsys.readouterr().out
    assert "2 identical, 0 different, 0 failed, 0 skipped" in text
    victim = max((p for p in bulk.rglob("*") if p.is_file()), key=lambda p: p.stat().st_size)
    data = bytearray(victim.read_bytes())
    data[len(data) // 2] ^= 1
    victim.write_bytes(bytes(data))
    assert main(["verify", str(out), "--bulk-dir", str(bulk)]) == 1
    text = capsys.readouterr().out
    assert "failed" in text and victim.name in text and "sha256" in text


@needs_corpus
def test_to_dicom_folder_with_a_source_root_remap(tmp_path, capsys):
    tree = tmp_path / "old" / "in"
    (tree / "sub").mkdir(parents=True)
    shutil.copy(CT, tree / "sub" / "ct.dcm")
    shutil.copy(MR, tree / "mr.dcm")
    out = tmp_path / "ion"
    assert main(["convert", str(tree), "-o", str(out), "-q"]) == 0
    moved = tmp_path / "new"
    shutil.move(str(tmp_path / "old"), str(moved))
    back = tmp_path / "back"
    assert main(["to-dicom", str(out), "-o", str(back), "-q"]) == 1, "originals moved"
    assert "missing" in capsys.readouterr().err
    assert main(["to-dicom", str(out), "-o", str(back), "-q", "--source-root",
                 f"{tmp_path / 'old'}={moved}"]) == 0
    assert (back / "sub" / "ct.dcm").read_bytes() == CT.read_bytes()
    assert (back / "mr.dcm").read_bytes() == MR.read_bytes()
    rows = manifest.read(back / manifest.DEFAULT_NAME).to_pylist()
    assert sorted(r["status"] for r in rows) == ["converted", "converted"]
    assert all(json.loads(r["options"])["source_root"] for r in rows)


def _die_on_second(task, progress=None):
    if task.seq == 1:
        os._exit(9)      # a worker killed mid-file
    return engine.process(task, progress)


@needs_corpus
def test_a_worker_that_dies_costs_its_file_only(tmp_path, monkeypatch):
    monkeypatch.setattr(executors, "process_group",
                        lambda tasks, progress=None: [_die_on_second(t, progress) for t in tasks])
    tasks = [engine.Task(**{**_task(tmp_path).__dict__, "seq": i,
                            "output": str(tmp_path / f"{i}.ion")}) for i in range(6)]
    pool = executors.ProcessExecutor(2, group_files=1)
    try:
        rows = list(pool.map(tasks, None))
    finally:
        pool.close()
    by_seq = {r["seq"]: r for r in rows}
    assert sorted(by_seq) == list(range(6)), "every task has a row"
    assert by_seq[1]["status"] == "failed" and "worker process died" in by_seq[1]["error"]
    assert all(by_seq[i]["status"] == "converted" for i in (0, 2, 3, 4, 5)), \
        "the others run again on a new pool, one at a time"


def test_progress_moves_inside_a_large_file(tmp_path):
    from conftest import ROOT
    import subprocess

    big = tmp_path / "big.dcm"
    subprocess.run([sys.executable, str(ROOT / "tools" / "make_big_file.py"), "--size", "6M",
                    str(big)], check=True, capture_output=True, timeout=120)
    seen = []
    row = engine.process(_task(tmp_path, big), lambda seq, n: seen.append(n))
    assert row["status"] == "converted"
    inside = [n for n in seen if 0 < n < big.stat().st_size]
    assert len(inside) >= 3 and inside == sorted(inside), "counts rise while the file is read"
    assert seen[-1] == big.stat().st_size


def _references_by_recursion(value, seen):
    """The plain definition describe's bulk counts must match."""
    if isinstance(value, (str, int, float, bytes, type(None))):
        return
    if isinstance(value, dict) or hasattr(value, "iteritems"):
        if all(k in value.keys() for k in ("sha256", "length", "dataOffset")):
            seen[0] += 1
            seen[1] += int(value["length"])
            return
        for item in value.values():
            _references_by_recursion(item, seen)
    elif isinstance(value, list):
        for item in value:
            _references_by_recursion(item, seen)


@needs_corpus
def test_bulk_counts_match_the_plain_walk_on_converted_loaded_and_odd_documents():
    from amazon.ion.simple_types import IonPyDict, IonPyList
    from dicom2ion.ion import codec

    docs = []
    for path in sorted(PYDICOM.glob("*.dcm"))[:40]:
        try:
            doc = dicom2ion.convert(str(path))
        except dicom2ion.Dicom2IonError:
            continue
        docs += [doc, codec.loads(codec.dumps(doc))]
    ref = {"dataOffset": 10, "length": 7, "sha256": "00" * 32}
    odd = IonPyDict({"A": ref})
    odd.add_item("A", {"dataOffset": 1, "length": 1000, "sha256": "11" * 32})  # newest counts
    listed = IonPyList([ref, IonPyDict(ref), [ref]])
    docs.append({"dataSet": {"X": odd, "Y": listed, "Z": [{"W": ref}]}, "wire": None})
    counted = 0
    for doc in docs:
        row, expected = {}, [0, 0]
        engine.describe(doc, row)
        _references_by_recursion(doc.get("dataSet"), expected)
        _references_by_recursion(doc.get("wire"), expected)
        assert [row["bulk_values"], row["bulk_bytes"]] == expected
        counted += expected[0]
    assert counted > 10, "the corpus has references to count"
