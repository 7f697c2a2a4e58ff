"""Smoke tests of tools/benchmark.py and tools/make_big_file.py: they run,
their output parses and holds every column, files that fail are listed and
left out, and the generated big file is valid P10 (pydicom as the oracle).
No timing assertions."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys

import pytest

from conftest import ROOT, good_corpus_files

TOOLS = ROOT / "tools"
STAGES = ("sha256", "pydicom", "read", "convert", "dump-binary", "dump-text", "to-dicom",
          "pydicom-json", "ion-load", "json-load", "load-to-dicom")
GOALS = ("CLI convert --jobs 1 speed-up", "small files", "verify time / convert time",
         "to-dicom time / convert time", "two cores / one core, convert",
         "two cores / one core, to-dicom", "two cores / one core, verify",
         "large file convert", "large file to-dicom", "convert --inline-all peak",
         "load() peak", "why Ion")
COLUMNS = ("stage", "seconds", "files/s", "MB/s", "vs pydicom", "vs sha256")


def _load(name):
    spec = importlib.util.spec_from_file_location(f"_tool_{name}", TOOLS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _run(*args, timeout=300):
    return subprocess.run([sys.executable, *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, cwd=ROOT)


@pytest.fixture(scope="module")
def small_files(tmp_path_factory):
    """Two generated files, a small fixture, a truncated file, and one corpus
    file when present."""
    folder = tmp_path_factory.mktemp("bench")
    made = []
    for size, seed in (("64K", 3), ("1M", 4)):
        out = folder / f"gen_{seed}.dcm"
        proc = _run(TOOLS / "make_big_file.py", out, "--size", size, "--seed", seed)
        assert proc.returncode == 0, proc.stderr
        made.append(out)
    broken = folder / "broken.dcm"
    broken.write_bytes(made[1].read_bytes()[:5000])   # pixel data cut short
    corpus = good_corpus_files()
    extra = [corpus[len(corpus) // 2]] if corpus else []
    small = ROOT / "fixtures" / "trailing_short.dcm"     # under 4 KB
    return made + [small] + extra, broken


def test_benchmark_runs_and_reports_every_column(small_files, tmp_path):
    good, broken = small_files
    out = tmp_path / "bench.json"
    proc = _run(TOOLS / "benchmark.py", *good, broken, "--repeat", "1", "--json", out,
                "--small-count", "40", "--large-size", "3M", "--memory-size", "2M")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    text = proc.stdout

    # The broken file is listed and left out; the others are all counted.
    assert f"excluded {broken}" in text
    assert re.search(rf"^{len(good)} files, [\d.]+ MB; 1 excluded", text, re.M), text

    # The table: a header with every column, then one parsable row per stage.
    lines = text.splitlines()
    head = next(i for i, line in enumerate(lines) if line.startswith("stage"))
    for column in COLUMNS:
        assert column in lines[head]
    rows = {}
    for line in lines[head + 2:head + 2 + len(STAGES)]:
        cells = line.split()
        assert len(cells) == 6, line
        seconds, files_s, mb_s = map(float, cells[1:4])
        assert seconds > 0 and files_s > 0 and mb_s > 0
        assert cells[4].endswith("x") and cells[5].endswith("x")
        rows[cells[0]] = (seconds, float(cells[4][:-1]), float(cells[5][:-1]))
    assert list(rows) == list(STAGES)
    assert rows["pydicom"][1] == 1.0 and rows["sha256"][2] == 1.0

    # The JSON holds the same numbers, consistent with each other, and the machine.
    data = json.loads(out.read_text())
    assert data["files"] == len(good)
    assert data["bytes"] == sum(os.path.getsize(p) for p in good)
    assert [e["path"] for e in data["excluded"]] == [str(broken)]
    assert "DicomParseError" in data["excluded"][0]["reason"]
    for key in ("python", "amazon.ion", "amazon.ion c_ext", "pydicom", "cpu_count", "date"):
        assert key in data["machine"], key
    assert isinstance(data["machine"]["amazon.ion c_ext"], bool)
    assert list(data["stages"]) == list(STAGES)
    sha = data["stages"]["sha256"]["seconds"]
    ref = data["stages"]["pydicom"]["seconds"]
    for stage, row in data["stages"].items():
        assert row["seconds"] == min(row["runs"]) and len(row["runs"]) == 1
        assert row["mb_per_s"] == pytest.approx(data["bytes"] / 1e6 / row["seconds"])
        assert row["files_per_s"] == pytest.approx(len(good) / row["seconds"])
        assert row["vs_pydicom"] == pytest.approx(row["seconds"] / ref)
        assert row["vs_sha256"] == pytest.approx(row["seconds"] / sha)
        assert f"{row['seconds']:.4f}" == f"{rows[stage][0]:.4f}"
    assert sorted(data["per_file"]) == sorted(map(str, good))
    for entry in data["per_file"].values():
        assert set(STAGES) <= set(entry)

    # End to end: every child ran over every usable file, every .ion was written.
    e2e = data["end_to_end"]
    assert e2e["files"] == len(good) and e2e["copies"] == 1
    assert e2e["convert"]["outputs"] == len(good) == e2e["to_dicom"]["outputs"]
    for key in ("convert", "convert_2", "to_dicom", "to_dicom_2", "verify", "verify_2"):
        assert e2e[key]["exit"] == 0 and e2e[key]["seconds"] > 0, (key, e2e[key])
    small = e2e["small"]
    assert small["files"] >= 40 and small["distinct"] >= 1
    assert small["files_per_s"] == pytest.approx(small["files"] / small["seconds"])
    floor = small["create_floor"]          # as many outputs, created without converting
    assert floor["files"] == small["files"]
    assert floor["files_per_s"] == pytest.approx(floor["files"] / floor["seconds"])
    work = e2e["work_scaling"]             # the conversion work in one and two processes
    assert work["one_process"] > 0 and work["two_processes"] > 0
    assert work["scaling"] == pytest.approx(work["one_process"] / work["two_processes"])
    assert "two-process ceiling" in text and "floor: create+rename" in text
    large = data["large_file"]
    assert large["size"] > 3_000_000
    assert min(large["convert"], large["to_dicom"], large["sha256_twice"]) > 0
    mem = data["memory"]
    assert mem["file_size"] > 2_000_000 and mem["ion_size"] > mem["file_size"]  # inline all
    assert mem["inline_all_peak_mib"] > mem["interpreter_cli_mib"] > 1
    assert mem["load_peak_mib"] > mem["interpreter_mib"] > 1
    assert data["big_file"] is None                   # only with --big
    assert data["machine"]["dicom2ion"] and data["command"][1] == "tools/benchmark.py"

    # The goals: each of issue 15's, with the ratio recomputed from the sections.
    goals = {g["goal"]: g for g in data["goals"]}
    for prefix in GOALS:
        assert any(name.startswith(prefix) for name in goals), prefix
    ratio = next(g for n, g in goals.items() if n.startswith("CLI convert"))
    assert ratio["measured"] == pytest.approx(
        data["stages"]["pydicom-json"]["seconds"] / e2e["convert"]["seconds"])
    assert ratio["met"] == (ratio["measured"] >= 2.0)
    verify = goals["verify time / convert time"]
    assert verify["measured"] == pytest.approx(e2e["verify"]["seconds"] / e2e["convert"]["seconds"])
    assert "goals (issue 15):" in text and "end to end" in text


def test_benchmark_only_and_profile(small_files):
    good, _ = small_files
    proc = _run(TOOLS / "benchmark.py", *good[:2], "--repeat", "1", "--only", "convert,sha256",
                "--no-e2e")
    assert proc.returncode == 0, proc.stderr
    table = proc.stdout.split("best of 1:")[1].splitlines()
    assert [line.split()[0] for line in table[3:5]] == ["sha256", "convert"]
    assert "end to end" not in proc.stdout
    assert table[3].split()[4] == "-"   # no pydicom column without pydicom

    proc = _run(TOOLS / "benchmark.py", *good[:2], "--profile", "convert", "--lines", "5")
    assert proc.returncode == 0, proc.stderr
    assert "cumulative" in proc.stdout and "convert.py" in proc.stdout

    proc = _run(TOOLS / "benchmark.py", *good[:2], "--profile", "cli", "--lines", "5")
    assert proc.returncode == 0, proc.stderr
    assert "cli.py" in proc.stdout

    proc = _run(TOOLS / "benchmark.py", *good[:2], "--only", "nonsense")
    assert proc.returncode == 2 and "unknown stage" in proc.stderr


def test_big_file_is_valid_p10(tmp_path):
    pydicom = pytest.importorskip("pydicom")
    import dicom2ion

    tool = _load("make_big_file")
    assert tool.parse_size("2G") == 2 << 30 and tool.parse_size("64K") == 65536
    assert tool.parse_size("1.5M") == 3 << 19
    path = tmp_path / "big.dcm"
    info = tool.write_big_file(str(path), 3 * 512 * 512 * 2 + 777, seed=9)
    assert (info["rows"], info["columns"], info["frames"]) == (512, 512, 3)

    ds = pydicom.dcmread(path)   # no force: must have preamble and meta
    assert ds.file_meta.TransferSyntaxUID == "1.2.840.10008.1.2.1"
    assert int(ds.NumberOfFrames) == 3 and ds.Rows == 512 and ds.Columns == 512
    assert len(ds.PixelData) == 3 * 512 * 512 * 2 == info["pixel_bytes"]
    assert ds.pixel_array.shape == (3, 512, 512)
    assert info["size"] == os.path.getsize(path)

    data = path.read_bytes()
    import hashlib
    assert hashlib.sha256(data).hexdigest() == info["sha256"]
    document = dicom2ion.convert(str(path))
    assert document["fileInfo"]["size"] == len(data)
    assert dicom2ion.to_dicom_bytes(document) == data

    with pytest.raises(ValueError):
        tool.geometry(5 << 30)   # native OW length is 32 bits


def test_big_file_measure(tmp_path):
    path = tmp_path / "m.dcm"
    out = tmp_path / "m.json"
    proc = _run(TOOLS / "make_big_file.py", path, "--size", "2M", "--measure", "--json", out,
                "--remove")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert not path.exists()                       # --remove
    assert "peak RSS" in proc.stdout and "identical to the input" in proc.stdout
    data = json.loads(out.read_text())
    assert data["size"] == data["file_info"]["size"] > 2_000_000
    for key in ("baseline", "convert", "to_dicom"):
        assert data[key]["exit"] == 0 and data[key]["peak_rss_mib"] > 1
    assert data["identical"] is True and data["rebuilt_size"] == data["size"]
    assert data["convert"]["mb_per_s"] > 0

    proc = _run(TOOLS / "make_big_file.py", tmp_path / "x.dcm", "--size", "5G")
    assert proc.returncode == 2 and "limited" in proc.stderr
    assert not (tmp_path / "x.dcm").exists()


class _OneRound:
    repeat = 1


def _engine_run(wall, batch):
    return {"wall": wall, "batch_best": batch, "mb": 100.0, "cpu": 1.0, "load": 0.5}


# best rounds of the four engines, as benchmark_engines.run_rounds keeps them
_ENGINE_BEST = {"jobs1": _engine_run(4.0, 3.6), "jobs2": _engine_run(2.5, 2.0),
                "dask2": _engine_run(4.5, 2.1), "cluster2": _engine_run(2.6, 1.9)}


def test_engine_benchmark_verdicts_and_machine_ceiling():
    engines = _load("benchmark_engines")

    report = engines.summarize(_ENGINE_BEST, "x", _OneRound, ceiling=1.87)
    batch = report["verdicts"]["batch"]
    assert batch["pool_scaling"] == pytest.approx(1.8)
    assert batch["cluster2_vs_pool"] == pytest.approx(-0.05)
    assert "batch time: --jobs 2 scales 1.80x (met >= 1.8x)" in report["text"]
    assert "dask2 1.71x (MISSED), +5.0% vs --jobs 2 (met <= +15%)" in report["text"]
    assert "scale 1.87x" in report["text"] and report["machine_scaling"] == 1.87
    assert 0.3 < engines.machine_scaling(rounds=1) < 2.5      # (a busy machine: near 1)


def test_engine_benchmark_work_ceiling(tmp_path):
    """The per-file function's own two-process scaling: measured on real
    files (every .ion written, then removed), reported beside the engines."""
    engines = _load("benchmark_engines")
    source = tmp_path / "in"
    engines.make_inputs(source, 4, 256 << 10)
    ratio = engines.work_scaling(source, tmp_path, rounds=1)
    assert 0 < ratio < 2.5        # (tiny files: forking dominates, the ratio means little)
    assert not (tmp_path / "ceiling").exists()

    report = engines.summarize(_ENGINE_BEST, "x", _OneRound, ceiling=1.87, work_ceiling=1.6)
    assert report["work_scaling"] == 1.6
    assert "scales 1.60x" in report["text"] and "is 112% of it" in report["text"]


def test_big_encapsulated_file_is_valid_p10(tmp_path):
    pydicom = pytest.importorskip("pydicom")
    from pydicom.encaps import generate_fragments
    import hashlib

    tool = _load("make_big_file")
    path = tmp_path / "enc.dcm"
    info = tool.write_big_file(str(path), 3 * 512 * 512 * 2, seed=9, encapsulated=True)
    ds = pydicom.dcmread(path)
    assert ds.file_meta.TransferSyntaxUID == tool.JPEG_BASELINE
    fragments = list(generate_fragments(ds.PixelData))
    assert fragments[0] == b""                         # the empty offset table
    assert [len(f) for f in fragments[1:]] == [512 * 512 * 2] * 3
    assert hashlib.sha256(path.read_bytes()).hexdigest() == info["sha256"]
