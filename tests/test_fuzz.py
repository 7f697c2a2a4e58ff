"""A bounded, deterministic mutation run of tools/fuzz.py (issue 12).

Mutants of the fixtures and the small corpus files (cuts, flipped bytes, bogus
lengths, inserted and deleted bytes, item and delimiter tags, meta group lies,
splices; the preamble and "DICM" kept) must each be refused with one of the
project's errors or rebuilt byte for byte (at least 99 % rebuilt: the salvage
read), no traceback, no silent difference, no input over a second per MB,
bounded memory. 20,000 inputs (about a minute on two idle cores); the
tool's own pieces are checked too, so that a broken classifier cannot pass
the run.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys

import pytest

from conftest import ROOT

TOOLS = ROOT / "tools"
COUNT = 20000
SEED = 20261201
# CI machines are shared: the per-MB limit gets a generous floor for tiny inputs
FLOOR = 1.0
RSS_LIMIT = 64 << 20         # growth of a worker above its RSS when it started
TRACED_LIMIT = 16 << 20      # one input of at most 16 KB


def _load(name):
    spec = importlib.util.spec_from_file_location(f"_tool_{name}", TOOLS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module     # the worker processes find its functions by name
    spec.loader.exec_module(module)
    return module


fuzz = _load("fuzz")


@pytest.fixture(scope="module")
def seeds():
    return fuzz.load_seeds(fuzz.seed_files())


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    out = tmp_path_factory.mktemp("fuzz-offenders")
    return fuzz.mutation_run(COUNT, SEED, jobs=2, out=out, floor=FLOOR, trace_every=25), out


def _listing(report) -> str:
    return "\n".join(f"{r['class']} #{r['index']} {r['seed']} {r['mutation']}: {r['detail']}"
                     for r in report.offenders[:20])


def test_no_input_crashes(report):
    report, _ = report
    assert report.counts["crash"] == 0, _listing(report)


def test_every_accepted_input_rebuilds_exactly(report):
    report, _ = report
    assert report.counts["DIFFERENT"] == 0, _listing(report)


def test_no_input_is_slow(report):
    report, _ = report
    assert report.counts["slow"] == 0, _listing(report)


def test_memory_stays_bounded(report):
    report, _ = report
    assert report.peak_rss < RSS_LIMIT, report.peak_rss
    assert report.peak_traced is not None and 0 < report.peak_traced < TRACED_LIMIT


def test_the_run_covers_every_mutation_and_both_outcomes(report):
    report, _ = report
    assert sum(report.counts.values()) == COUNT
    assert set(report.by_mutation) == set(fuzz.MUTATIONS)
    # a salvage read converts at least 99 % of the mutants (all keep "DICM") exactly
    assert report.counts["exact"] >= COUNT * 0.99, report.counts


def test_offenders_are_written_for_reproduction(report, tmp_path):
    report, out = report
    assert sorted(p.name for p in out.iterdir()) == sorted(
        p.split("/")[-1] for p in (r["file"] for r in report.offenders))


# -- the tool itself ----------------------------------------------------------------------
def test_mutants_are_deterministic_and_keep_the_preamble(seeds):
    for index in range(300):
        name, how, data = fuzz.mutant(index, SEED, seeds)
        assert fuzz.mutant(index, SEED, seeds) == (name, how, data)
        assert data[128:132] == b"DICM", (index, how)
        original = next(s.data for s in seeds if s.name == name)
        assert data[:132] == original[:132]
    assert fuzz.mutant(0, SEED, seeds) != fuzz.mutant(0, SEED + 1, seeds)


def test_every_mutation_changes_its_input(seeds):
    import random
    example = next(s for s in seeds if s.name == "example_ct.dcm")
    for name, mutate in fuzz.MUTATIONS.items():
        changed = sum(mutate(random.Random(i), example, example.data, seeds) != example.data
                      for i in range(20))
        assert changed >= 15, name


def test_classifier_sees_each_class(tmp_path, monkeypatch):
    good = ROOT / "fixtures" / "example_ct.dcm"
    assert fuzz.check_file(str(good)).kind == "exact"
    assert fuzz.check_file(str(ROOT / "fixtures" / "truncated_value.dcm")).kind == "exact"
    assert fuzz.check_file(str(ROOT / "fixtures" / "garbage_1k.dcm")).kind == "refused"
    # a rebuild that loses a byte is DIFFERENT, one that raises is a crash
    real = fuzz.to_dicom_bytes
    monkeypatch.setattr(fuzz, "to_dicom_bytes", lambda *a, **k: real(*a, **k)[:-1])
    outcome = fuzz.check_file(str(good))
    assert outcome.kind == "DIFFERENT" and "first difference at offset 1811" in outcome.detail
    monkeypatch.setattr(fuzz, "to_dicom_bytes", lambda *a, **k: {}["boom"])
    outcome = fuzz.check_file(str(good))
    assert outcome.kind == "crash" and "KeyError" in outcome.detail
    # over the time limit is slow; a hang is stopped
    monkeypatch.setattr(fuzz, "to_dicom_bytes", lambda *a, **k: (__import__("time").sleep(0.3),
                                                                  real(*a, **k))[1])
    assert fuzz.check_file(str(good), floor=0.1).kind == "slow"
    outcome = fuzz.check_file(str(good), floor=0.01, hang_after=0.05)
    assert outcome.kind == "slow" and outcome.detail.startswith("hang")


def test_command_line_prints_counts_and_writes_json(tmp_path):
    result = subprocess.run(
        [sys.executable, str(TOOLS / "fuzz.py"), "mutate", "-n", "200", "--seed", "5",
         "--jobs", "1", "--json", str(tmp_path / "r.json"), "--out", str(tmp_path / "o")],
        capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    for kind in fuzz.CLASSES:
        assert kind in result.stdout
    data = json.loads((tmp_path / "r.json").read_text())
    assert data["total"] == 200 and sum(data["counts"].values()) == 200
    assert abs(sum(data["percent"].values()) - 100.0) < 1e-6
