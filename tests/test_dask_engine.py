"""``--engine dask`` against a real cluster on localhost: a ``dask
scheduler`` and two ``dask worker`` processes (tests/services.py). The
same rows and outputs as the process pool; a worker killed in the middle of
a run loses nothing; failures on workers come back as rows."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tools"))
from make_big_file import write_big_file  # noqa: E402

import dicom2ion  # noqa: E402
from dicom2ion import manifest as manifest_mod  # noqa: E402
from dicom2ion.cli import main  # noqa: E402

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
BIG = 24          # 4 MiB multi-frame files: enough work to kill a worker in the middle
VOLATILE = {"seconds", "host", "run", "recorded_at", "seq", "mtime"}


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def make_tree(root: Path, big: int = 0, size: int = 4 << 20) -> dict:
    """An archive-shaped folder: the project's fixtures (damaged ones too),
    ``big`` multi-frame files of ``size`` bytes, a text file and a
    truncated copy; returns {path: true sha256} of every file."""
    shutil.copytree(FIXTURES, root / "fixtures", ignore=shutil.ignore_patterns("*.json"))
    (root / "frames").mkdir(parents=True)
    for i in range(big):
        write_big_file(str(root / "frames" / f"f{i:03d}.dcm"), size, seed=100 + i)
    (root / "notes.txt").write_text("not a DICOM file\n")
    if big:
        data = (root / "frames" / "f000.dcm").read_bytes()
        (root / "frames" / "cut.dcm").write_bytes(data[:len(data) // 2])
    return {str(p): sha256(p) for p in sorted(root.rglob("*")) if p.is_file()}


def cli(capsys, *argv: str):
    """The command in this process: (exit code, stdout, stderr)."""
    capsys.readouterr()
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def rows_by_source(manifest: Path) -> dict:
    rows = manifest_mod.read(str(manifest)).to_pylist()
    by = {r["source"]: r for r in rows}
    assert len(by) == len(rows), "one row per input"
    return by


def check_manifest(manifest: Path, files: dict) -> dict:
    """Every input has exactly one row; DICOM rows carry the true sha256."""
    rows = rows_by_source(manifest)
    assert set(rows) == set(files)
    for source, row in rows.items():
        if row["status"] in ("converted", "damaged"):
            assert row["sha256"] == files[source], source
            assert Path(row["output"]).is_file()
        else:
            assert row["status"] in ("skipped", "failed"), row
            assert row["error"], row
    assert rows[next(s for s in files if s.endswith("notes.txt"))]["status"] == "skipped"
    return rows


def leftovers(*folders: Path) -> list:
    return [str(p) for folder in folders for p in folder.rglob("*")
            if p.name.startswith((".dicom2ion-", ".part-")) or p.name.endswith(".part")]


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    root = tmp_path_factory.mktemp("archive") / "in"
    return root, make_tree(root, big=BIG)


def test_same_rows_and_outputs_as_the_process_pool(dask_cluster, tree, tmp_path, capsys):
    root, files = tree
    common = ["--reproducible", "--bulk-dir"]
    pool = cli(capsys, "convert", str(root), "-o", str(tmp_path / "pool"), "--jobs", "2",
               "--manifest", str(tmp_path / "pool.parquet"), *common, str(tmp_path / "pb"))
    dask = cli(capsys, "convert", str(root), "-o", str(tmp_path / "dask"), "--engine", "dask",
               "--scheduler", dask_cluster.address, "--manifest", str(tmp_path / "dask.parquet"),
               *common, str(tmp_path / "db"))
    assert "Traceback" not in dask[2], dask[2]
    # the damaged fixtures convert (salvaged, "damaged"); what is not DICOM is skipped
    assert dask[0] == pool[0] == 0, (pool[2], dask[2])
    assert dask[1] == pool[1]
    assert sorted(line for line in dask[2].splitlines() if line.startswith("damaged")) == \
        sorted(line for line in pool[2].splitlines() if line.startswith("damaged")) != []
    rows = check_manifest(tmp_path / "dask.parquet", files)
    pool_rows = rows_by_source(tmp_path / "pool.parquet")
    for source, row in rows.items():
        mine = {k: v for k, v in row.items() if k not in VOLATILE}
        theirs = {k: v for k, v in pool_rows[source].items() if k not in VOLATILE}
        mine["output"] = mine["output"] and mine["output"].replace("/dask/", "/x/")
        theirs["output"] = theirs["output"] and theirs["output"].replace("/pool/", "/x/")
        mine["options"] = mine["options"].replace("/db", "/b")
        theirs["options"] = theirs["options"].replace("/pb", "/b")
        assert mine == theirs, source
        if row["output"]:
            other = pool_rows[source]["output"]
            assert Path(row["output"]).read_bytes() == Path(other).read_bytes(), source
    # the bulk folders hold the same values, and the Ion + bulk rebuild every original
    assert sorted(p.name for p in (tmp_path / "db").rglob("*") if p.is_file()) == \
        sorted(p.name for p in (tmp_path / "pb").rglob("*") if p.is_file())
    for source, row in sorted(rows.items())[-4:]:
        if row["status"] == "converted":
            rebuilt = dicom2ion.to_dicom_bytes(dicom2ion.load(row["output"]),
                                              bulk_dir=str(tmp_path / "db"))
            assert hashlib.sha256(rebuilt).hexdigest() == files[source]
    assert leftovers(tmp_path / "dask", tmp_path / "db") == []


def test_worker_killed_mid_run_loses_nothing(dask_cluster, tree, tmp_path, capsys):
    root, files = tree
    out, bulk, manifest = tmp_path / "out", tmp_path / "bulk", tmp_path / "m.parquet"
    argv = ["convert", str(root), "-o", str(out), "--engine", "dask", "--scheduler",
            dask_cluster.address, "--manifest", str(manifest), "--bulk-dir", str(bulk)]
    first = cli(capsys, *argv)
    assert "Traceback" not in first[2], first[2]
    check_manifest(manifest, files)

    # the second run redoes everything; one worker dies while it holds work
    run = subprocess.Popen([sys.executable, "-m", "dicom2ion", *argv, "--overwrite"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    victim = None
    with dask_cluster.client() as client:
        by_address = {}
        deadline = time.monotonic() + 60
        while victim is None and time.monotonic() < deadline and run.poll() is None:
            busy = {w: keys for w, keys in client.processing().items() if keys}
            info = client.scheduler_info()["workers"]
            for address, keys in busy.items():
                if any(str(k).startswith("dicom2ion-") for k in keys):
                    by_address = {a: w.get("name") for a, w in info.items()}
                    victim = address
                    break
            else:
                time.sleep(0.01)
        assert victim is not None, "the run never reached the workers"
        name = by_address[victim]
        proc = dask_cluster.workers[int(str(name).lstrip("w"))]
        dask_cluster.kill_worker(proc)
        stdout, stderr = run.communicate(timeout=240)
        assert victim not in client.scheduler_info()["workers"]
    assert "Traceback" not in stderr, stderr
    assert run.returncode == first[0], stderr
    rows = check_manifest(manifest, files)
    assert {r["run"] for r in rows.values()} == {rows[next(iter(rows))]["run"]}  # all this run
    converted = [r for r in rows.values() if r["status"] == "converted"]
    assert len(converted) >= BIG
    for row in converted[::5]:
        rebuilt = dicom2ion.to_dicom_bytes(dicom2ion.load(row["output"]), bulk_dir=str(bulk))
        assert hashlib.sha256(rebuilt).hexdigest() == files[row["source"]]
    # a replacement for the fixture's later users
    replacement = dask_cluster.add_worker(f"w{len(dask_cluster.workers)}")
    assert replacement.poll() is None
    dask_cluster.wait_for_workers(2)


def test_a_bug_on_a_worker_is_a_failed_row_and_groups_fit_the_cluster(monkeypatch):
    from dicom2ion import dask_executor, engine

    def broken(task, progress=None):
        if task.source.endswith("bad.dcm"):
            raise ValueError("something the per-file work did not expect")
        return engine.process(task, progress)

    monkeypatch.setattr(dask_executor, "process", broken)
    tasks = [engine.Task(seq=i, command="convert", source=str(FIXTURES / name),
                         output=None, size=10) for i, name in enumerate(["x.dcm", "bad.dcm"])]
    rows = dask_executor.run_group(tasks)
    assert [r["seq"] for r in rows] == [0, 1]
    assert rows[1]["status"] == "failed" and "ValueError: something" in rows[1]["error"]
    assert rows[1]["source"].endswith("bad.dcm") and rows[1]["output"] is None

    class Fake(dask_executor.DaskExecutor):
        def __init__(self, threads, **options):     # no cluster: only the grouping
            self.group_files, self.group_bytes, self.threads = 256, 1000, threads

        def _threads(self):
            return self.threads

    many = [engine.Task(seq=i, command="convert", source=f"{i}", output=None, size=100)
            for i in range(100)]
    groups = Fake(2).groups(many)                   # 100 files, 2 threads: 8 groups or more
    assert [t.seq for g in groups for t in g] == list(range(100))
    assert len(groups) >= 8 and all(sum(t.size for t in g) <= 1000 for g in groups)
    assert [len(g) for g in Fake(1000).groups(many)] == [1] * 100
    assert Fake(2).groups([]) == []


def test_a_file_that_kills_workers_becomes_a_failed_row(tmp_path):
    """Workers with a nanny (restarted when they die) and a scheduler that
    gives up on a task at its first lost worker: the group holding the
    poison is split, its other files are converted, the poison file is a
    failed row naming Dask's KilledWorker; no file is missing."""
    from dicom2ion import dask_executor, engine
    from services import DaskCluster, poison_group
    names = sorted(p.name for p in FIXTURES.glob("*.dcm"))[:9]
    for name in names:
        shutil.copy(FIXTURES / name, tmp_path / name)
    shutil.copy(FIXTURES / names[0], tmp_path / "poison.dcm")
    sources = sorted(str(p) for p in tmp_path.glob("*.dcm"))
    options = engine.freeze_options({"standard_limit": 256, "private_limit": 256,
                                     "inline_all": False, "bulk_dir": None})
    tasks = [engine.Task(seq=i, command="convert", source=s, output=s + ".ion",
                         size=os.path.getsize(s), options=options)
             for i, s in enumerate(sources)]

    class Poisoned(dask_executor.DaskExecutor):
        work = staticmethod(poison_group)

    cluster = DaskCluster(str(tmp_path / "cluster"), workers=2, nanny=True, scheduler_env={
        "DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES": "0",
        # one task per worker thread at a time: no innocent file waits on a dying worker
        "DASK_DISTRIBUTED__SCHEDULER__WORKER_SATURATION": "1.0"}, env={
        "PYTHONPATH": os.pathsep.join([str(Path(__file__).parent), os.environ.get(
            "PYTHONPATH", "")])})
    try:
        executor = Poisoned(scheduler=cluster.address)
        try:
            rows = list(executor.map(tasks, None))
        finally:
            executor.close()
    finally:
        cluster.stop()
    by_source = {r["source"]: r for r in rows}
    assert sorted(by_source) == sources and len(rows) == len(tasks)
    poison = by_source[str(tmp_path / "poison.dcm")]
    assert poison["status"] == "failed" and "KilledWorker" in poison["error"], poison["error"]
    assert "not processed: the Dask task failed" in poison["error"]
    others = [r for s, r in by_source.items() if not s.endswith("poison.dcm")]
    expected = {s: engine.process(t)["status"] for s, t in zip(sources, tasks)
                if not s.endswith("poison.dcm")}
    assert {r["source"]: r["status"] for r in others} == expected
