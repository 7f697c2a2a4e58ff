"""The storage layer: local paths without fsspec, and fsspec URLs
(memory:// and an S3 server on localhost) for listing, reading, ranged
reads and all-or-nothing writes."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import uuid

import pytest

from dicom2ion import storage


@pytest.fixture(params=["memory", "s3"])
def store(request):
    """A fresh, empty folder URL on each kind of store."""
    if request.param == "memory":
        base = f"memory://dicom2ion-test-{uuid.uuid4().hex[:8]}"
        yield base
        import fsspec

        fs = fsspec.filesystem("memory")
        if fs.exists(base):
            fs.rm(base, recursive=True)
    else:
        yield request.getfixturevalue("s3_bucket") + "/data"


def test_plain_import_and_local_paths_need_no_fsspec(tmp_path):
    script = (
        "import sys, dicom2ion, dicom2ion.storage as s, dicom2ion.cli\n"
        f"p = {str(tmp_path / 'a.bin')!r}\n"
        "with s.atomic_write(p) as fp: fp.write(b'x' * 10)\n"
        "assert s.stat(p)[0] == 10 and b''.join(s.read_range(p, 2, 3)) == b'xxx'\n"
        "assert [r for _, r in s.walk_files(s.dirname(p))] == ['a.bin']\n"
        "bad = [m for m in ('fsspec', 's3fs', 'dask', 'distributed') if m in sys.modules]\n"
        "assert not bad, bad\n")
    subprocess.run([sys.executable, "-c", script], check=True)


def test_url_recognition():
    assert storage.is_url("s3://bucket/key") and storage.scheme("S3://b/k") == "s3"
    assert not storage.is_url("/data/x.dcm") and not storage.is_url("C://x")
    assert not storage.is_url("file:///tmp/x.dcm")
    assert storage.local("file:///tmp/a%20b.dcm") == "/tmp/a b.dcm"
    assert storage.join("s3://b/out/", "study/x.dcm", "y.ion") == "s3://b/out/study/x.dcm/y.ion"
    assert storage.dirname("s3://b/out/x.ion") == "s3://b/out"
    assert storage.basename("s3://b/out/x.ion") == "x.ion"


def test_file_urls_take_the_local_route(tmp_path):
    path = tmp_path / "f.bin"
    path.write_bytes(b"abcdef")
    url = path.as_uri()
    assert storage.stat(url)[0] == 6
    assert b"".join(storage.read_range(url, 1, 3)) == b"bcd"
    with storage.atomic_write(url + ".out") as fp:
        fp.write(b"z")
    assert (tmp_path / "f.bin.out").read_bytes() == b"z"


def test_write_list_stat_and_read(store):
    payload = os.urandom(3000)
    with storage.atomic_write(storage.join(store, "b/2.bin")) as fp:
        fp.write(payload)
    with storage.atomic_write(storage.join(store, "a.bin")) as fp:
        fp.write(b"small")
    found = list(storage.walk_files(store))
    assert [rel for _, rel in found] == ["a.bin", "b/2.bin"]
    assert all(storage.is_url(url) and url.endswith(rel) for url, rel in found)
    assert storage.isdir(store) and storage.isfile(found[1][0]) and storage.exists(found[1][0])
    size, _ = storage.stat(found[1][0])
    assert size == 3000
    assert storage.read_bytes(found[1][0]) == payload
    assert b"".join(storage.read_range(found[1][0], 1000, 500)) == payload[1000:1500]
    # chunked ranged reads give the same bytes, and stop at the end of the object
    assert b"".join(storage.read_range(found[1][0], 10, 2990, chunk=700)) == payload[10:]
    assert b"".join(storage.read_range(found[1][0], 2900, 500)) == payload[2900:]
    with pytest.raises(FileNotFoundError):
        storage.stat(storage.join(store, "missing"))


def test_failed_write_leaves_nothing(store):
    target = storage.join(store, "out/x.ion")
    with pytest.raises(RuntimeError):
        with storage.atomic_write(target) as fp:
            fp.write(b"partial" * 1000)
            raise RuntimeError("boom")
    assert not storage.exists(target)
    assert list(storage.walk_files(store)) == []


def test_large_write_spools_to_disk_and_uploads_whole(store, monkeypatch):
    monkeypatch.setattr(storage, "SPOOL_IN_MEMORY", 1000)
    payload = os.urandom(50_000)
    target = storage.join(store, "big.bin")
    with storage.atomic_write(target) as fp:
        for i in range(0, len(payload), 777):
            fp.write(payload[i:i + 777])
        assert fp.name is not None and os.path.exists(fp.name)   # spilled to a local file
        spool = fp.name
    assert not os.path.exists(spool)
    assert hashlib.sha256(storage.read_bytes(target)).digest() == hashlib.sha256(payload).digest()


def test_s3_ranged_reads_fetch_only_the_range(s3_bucket, s3_server):
    key = "ranged/blob.bin"
    url = f"{s3_bucket}/{key}"
    payload = os.urandom(100_000)
    with storage.atomic_write(url) as fp:
        fp.write(payload)
    before = len(s3_server.gets(key))
    got = b"".join(storage.read_range(url, 40_000, 25_000, chunk=10_000))
    assert got == payload[40_000:65_000]
    ranges = s3_server.gets(key)[before:]
    assert ranges == ["bytes=40000-49999", "bytes=50000-59999", "bytes=60000-64999"]


@pytest.mark.parametrize("name", ["plain.dcm", "with space.dcm", "é ü 漢字.dcm", "%41#?;[]@!$&'()*+,=~:x",
                                  "a//b/./c/../d", "surrogate-\udcff.dcm", "trailing/"])
def test_file_uri_is_what_pathlib_writes(tmp_path, name):
    import pathlib

    path = os.path.join(str(tmp_path), name)
    assert storage.file_uri(path) == pathlib.Path(os.path.abspath(path)).as_uri()
    relative = os.path.relpath(path)
    assert storage.file_uri(relative) == pathlib.Path(os.path.abspath(relative)).as_uri()


@pytest.mark.parametrize("name", ["plain.dcm", "with space.dcm", "é ü 漢字.dcm", "%41#?;[]@!$&'()*+,=~:x"])
def test_file_path_undoes_file_uri_as_url2pathname_does(tmp_path, name):
    import urllib.parse
    import urllib.request

    path = os.path.join(str(tmp_path), name)
    uri = storage.file_uri(path)
    assert storage.file_path(uri) == path == storage.local(uri)
    assert storage.file_path(uri) == urllib.request.url2pathname(urllib.parse.urlparse(uri).path)
