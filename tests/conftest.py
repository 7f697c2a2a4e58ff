"""Shared test set-up: where the corpus lives, which files are broken, the
--runslow flag and the hypothesis profiles."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

ROOT = Path(__file__).resolve().parent.parent
CORPUS = Path(os.environ.get("DICOM2ION_CORPUS", ROOT.parent / "shared" / "corpus"))
FIXTURES = ROOT / "fixtures"

# Corpus files that are deliberately broken: they must raise DicomParseError.
BROKEN = {
    "test_files__MR_truncated.dcm": "pixel data cut short",
    "test_files__rtplan_truncated.dcm": "a value inside a sequence cut short",
    "test_files__no_meta.dcm": "a stray byte before the first element: every length is garbage",
    "dicomdir__DICOMDIR-nooffset": "file ends inside the last directory record item",
}

settings.register_profile("ci", max_examples=60, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("nightly", max_examples=2000, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", max_examples=20, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def corpus_files() -> list:
    """Every corpus file (sorted), or [] when the corpus is absent."""
    if not CORPUS.is_dir():
        return []
    return sorted(p for p in CORPUS.rglob("*") if p.is_file() and p.name != "README.md"
                  and not p.name.endswith((".txt", ".md")))


def good_corpus_files() -> list:
    return [p for p in corpus_files() if p.name not in BROKEN]


def broken_corpus_files() -> list:
    return [p for p in corpus_files() if p.name in BROKEN]


def pytest_addoption(parser):
    parser.addoption("--runslow", action="store_true", default=False,
                     help="run the slow, exhaustive suites too")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--runslow"):
        return
    skip = pytest.mark.skip(reason="slow suite: run with --runslow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


def pytest_report_header(config):
    state = f"{len(corpus_files())} files" if CORPUS.is_dir() else "absent"
    return f"dicom2ion corpus: {CORPUS} ({state})"

from services import dask_cluster, s3_bucket, s3_server  # noqa: E402,F401  (fixtures)
