"""Inputs, outputs and bulk folders as fsspec URLs: ``memory://`` (in this
process, ``--jobs 1``) and an S3 server on localhost (moto), through the
Dask workers. to-dicom reads referenced values with ranged reads."""

from __future__ import annotations

import hashlib
import shutil
import sys
import uuid
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tools"))
from make_big_file import write_big_file  # noqa: E402

from dicom2ion import manifest as manifest_mod, storage  # noqa: E402
from dicom2ion.cli import main  # noqa: E402

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def local_tree(root: Path, fixtures=None) -> None:
    """The project's fixtures (or those named), three 1 MiB multi-frame
    files and a text file."""
    keep = None if fixtures is None else set(fixtures)
    shutil.copytree(FIXTURES, root / "fixtures", ignore=lambda folder, names: [
        n for n in names if n.endswith(".json") or (keep is not None and n not in keep)])
    (root / "frames").mkdir()
    for i in range(3):
        write_big_file(str(root / "frames" / f"f{i}.dcm"), 1 << 20, seed=7 + i)
    (root / "notes.txt").write_text("not a DICOM file\n")


def upload(root: Path, url: str) -> dict:
    """Copy a local tree to ``url``; {its URL: true sha256}."""
    files = {}
    for path in sorted(root.rglob("*")):
        if path.is_file():
            target = storage.join(url, path.relative_to(root).as_posix())
            data = path.read_bytes()
            with storage.atomic_write(target) as fp:
                fp.write(data)
            files[target] = hashlib.sha256(data).hexdigest()
    return files


def check_rows(manifest, files: dict) -> dict:
    rows = {r["source"]: r for r in manifest_mod.read(str(manifest)).to_pylist()}
    assert set(rows) == set(files)
    for source, row in rows.items():
        if row["status"] in ("converted", "damaged"):
            assert row["sha256"] == files[source], source
            assert storage.is_url(row["output"]) and storage.isfile(row["output"]), row
        else:
            assert row["status"] in ("skipped", "failed") and row["error"], row
    assert sum(r["status"] == "converted" for r in rows.values()) >= 3
    return rows


def no_temporaries(url: str) -> list:
    return [u for u, rel in storage.walk_files(url)
            if storage.basename(u).startswith((".dicom2ion-", ".part-")) or u.endswith(".part")]


def rebuilt_matches(folder: Path, rows: dict, files: dict) -> int:
    """to-dicom into ``folder`` rebuilt every converted input, byte for
    byte (its manifest ties each rebuilt file to its Ion, the convert
    manifest each Ion to its original)."""
    original_of = {r["output"]: source for source, r in rows.items() if r["output"]}
    back = manifest_mod.read(str(folder / manifest_mod.DEFAULT_NAME)).to_pylist()
    assert sorted(r["source"] for r in back) == sorted(original_of)
    for row in back:
        assert row["status"] in ("converted", "damaged"), row
        rebuilt = Path(row["output"])
        assert rebuilt.is_file() and str(rebuilt).startswith(str(folder))
        assert hashlib.sha256(rebuilt.read_bytes()).hexdigest() == \
            files[original_of[row["source"]]], row
    return len(back)


@pytest.fixture
def memory_root():
    base = f"memory://dicom2ion-{uuid.uuid4().hex[:8]}"
    yield base
    import fsspec

    fs = fsspec.filesystem("memory")
    if fs.exists(base):
        fs.rm(base, recursive=True)


def test_memory_store_convert_verify_to_dicom(memory_root, tmp_path):
    local_tree(tmp_path / "src")
    files = upload(tmp_path / "src", f"{memory_root}/in")
    manifest = tmp_path / "m.parquet"
    code = main(["convert", f"{memory_root}/in", "-o", f"{memory_root}/out", "--bulk-dir",
                 f"{memory_root}/bulk", "--jobs", "1", "--manifest", str(manifest), "-q"])
    assert code in (0, 1)
    rows = check_rows(manifest, files)
    assert no_temporaries(memory_root) == []
    # the same command again: nothing changed on the store, nothing is redone
    main(["convert", f"{memory_root}/in", "-o", f"{memory_root}/out", "--bulk-dir",
          f"{memory_root}/bulk", "--jobs", "1", "--manifest", str(manifest), "-q"])
    again = {r["source"]: r["status"] for r in manifest_mod.read(str(manifest)).to_pylist()}
    assert {s for s, r in rows.items() if r["status"] in ("converted", "damaged")} == \
        {s for s, status in again.items() if status == "unchanged"}
    # audit of the Ion and the bulk folder, without the originals
    for url in files:
        storage.remove(url)
    code = main(["verify", f"{memory_root}/out", "--bulk-dir", f"{memory_root}/bulk",
                 "--jobs", "1", "-q", "--manifest", str(tmp_path / "v.parquet")])
    audit = manifest_mod.read(str(tmp_path / "v.parquet")).to_pylist()
    identical = [r for r in audit if r["status"] == "identical"]
    assert len(identical) == sum(r["status"] in ("converted", "damaged") for r in rows.values())
    # back to P10 on local disk from the store
    code = main(["to-dicom", f"{memory_root}/out", "-o", str(tmp_path / "back"), "--bulk-dir",
                 f"{memory_root}/bulk", "--jobs", "1", "-q"])
    assert rebuilt_matches(tmp_path / "back", rows, files) >= 3


def test_s3_through_dask_workers_and_ranged_to_dicom(dask_cluster, s3_bucket, s3_server,
                                                       tmp_path, capsys):
    # few files: every S3 request to moto takes ~25 ms
    local_tree(tmp_path / "src", ["deflated_l6.dcm", "truncated_value.dcm", "charset_jis.dcm"])
    files = upload(tmp_path / "src", f"{s3_bucket}/in")
    manifest = f"{s3_bucket}/manifests/m.parquet"          # the manifest on the store too
    code = main(["convert", f"{s3_bucket}/in", "-o", f"{s3_bucket}/out", "--bulk-dir",
                 f"{s3_bucket}/bulk", "--engine", "dask", "--scheduler", dask_cluster.address,
                 "--manifest", str(manifest)])
    err = capsys.readouterr().err
    assert "Traceback" not in err and code == 0, err    # truncated_value.dcm: salvaged
    assert "damaged  s3://" in err and "truncated_value.dcm" in err
    rows = check_rows(manifest, files)
    assert no_temporaries(s3_bucket) == []
    assert any(True for _ in storage.walk_files(f"{s3_bucket}/bulk"))
    assert [rel for _, rel in storage.walk_files(manifest)][0].startswith("part-")

    # to-dicom without the bulk folder: referenced values come from the
    # originals on S3, by ranged reads only
    first = len(s3_server.requests)
    code = main(["to-dicom", f"{s3_bucket}/out", "-o", str(tmp_path / "back"), "--jobs", "1",
                 "-q"])
    assert code == 0
    assert rebuilt_matches(tmp_path / "back", rows, files) >= 3
    bucket = s3_bucket[len("s3://"):]
    source_gets = [(path, rng) for method, path, rng in s3_server.requests[first:]
                   if method == "GET" and path.startswith(f"/{bucket}/in/")]
    frames = [g for g in source_gets if "/frames/" in g[0]]
    assert frames, "the pixel data was read from the originals"
    assert all(rng and rng.startswith("bytes=") for _, rng in source_gets), source_gets
