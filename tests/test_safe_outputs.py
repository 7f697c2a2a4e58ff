"""Regression tests for the CLI bugs that destroyed data or lied (issue 13):
special files, stdin/stdout, outputs onto inputs, collisions, permissions,
temporary files, unwritable reports, broken pipes, nonsensical options."""

from __future__ import annotations

import errno
import os
import shutil
import signal
import stat
import subprocess
import sys
import threading
import time

import pytest

import dicom2ion
from dicom2ion.cli import main

from conftest import CORPUS, ROOT

PYDICOM = CORPUS / "pydicom"
needs_corpus = pytest.mark.skipif(not PYDICOM.is_dir(), reason=f"corpus not found at {CORPUS}")
CT = PYDICOM / "test_files__CT_small.dcm"
J2K = PYDICOM / "test_files__JPEG2000.dcm"


def _cli(*args, stdin=None, timeout=120, **kw):
    return subprocess.run([sys.executable, "-m", "dicom2ion", *map(str, args)], input=stdin,
                          capture_output=True, timeout=timeout, **kw)


@pytest.fixture
def ct(tmp_path):
    src = tmp_path / "ct.dcm"
    shutil.copy(CT, src)
    ion = tmp_path / "ct.ion"
    assert main(["convert", str(src), "-o", str(ion), "-q"]) == 0
    return src, ion


def _leftovers(*folders):
    return [p for f in folders if os.path.isdir(f) for p in _walk(f)
            if os.path.basename(p).startswith((".part-", ".dicom2ion-"))]


def _walk(folder):
    for base, _, files in os.walk(folder):
        for name in files:
            yield os.path.join(base, name)


# -- special files, stdin, stdout -----------------------------------------------------

@needs_corpus
def test_output_onto_dev_null_writes_to_it(ct):
    _, ion = ct
    before = os.stat(os.devnull)
    assert main(["to-dicom", str(ion), "-o", os.devnull]) == 0
    after = os.stat(os.devnull)
    assert stat.S_ISCHR(after.st_mode), "/dev/null must stay a device"
    assert (after.st_ino, after.st_rdev) == (before.st_ino, before.st_rdev)


@needs_corpus
def test_output_onto_a_fifo_feeds_its_reader(ct, tmp_path):
    _, ion = ct
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got = []
    reader = threading.Thread(target=lambda: got.append(open(fifo, "rb").read()))
    reader.start()
    assert main(["to-dicom", str(ion), "-o", str(fifo)]) == 0
    reader.join(30)
    assert got and got[0] == CT.read_bytes(), "the FIFO's reader gets the file"
    assert stat.S_ISFIFO(os.stat(fifo).st_mode), "the FIFO is not replaced"


@needs_corpus
def test_output_dash_is_stdout_and_input_dash_is_stdin(ct, tmp_path):
    _, ion = ct
    result = _cli("to-dicom", ion, "-o", "-", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == CT.read_bytes()
    assert not (tmp_path / "-").exists(), "no file named -"
    result = _cli("convert", "-", "-o", "-", "--inline-all", stdin=CT.read_bytes(), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert dicom2ion.to_dicom_bytes(dicom2ion.load(result.stdout)) == CT.read_bytes()
    result = _cli("to-dicom", "-", "-o", tmp_path / "back.dcm", stdin=ion.read_bytes())
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "back.dcm").read_bytes() == CT.read_bytes()


@needs_corpus
def test_stdin_without_a_home_for_long_values_is_refused(tmp_path):
    result = _cli("convert", "-", "-o", tmp_path / "x.ion", stdin=CT.read_bytes())
    assert result.returncode == 2 and b"--bulk-dir" in result.stderr
    assert not (tmp_path / "x.ion").exists()


# -- outputs never overwrite inputs or each other -----------------------------------

@needs_corpus
def test_output_that_is_the_input_is_refused(ct, capsys):
    src, _ = ct
    original = src.read_bytes()
    assert main(["convert", str(src), "-o", str(src)]) == 2
    assert "refusing" in capsys.readouterr().err
    assert src.read_bytes() == original


@needs_corpus
def test_output_inside_the_input_tree_is_refused(tmp_path, capsys):
    tree = tmp_path / "in"
    tree.mkdir()
    shutil.copy(CT, tree / "a.dcm")
    assert main(["convert", str(tree), "-o", str(tree / "ion")]) == 2
    assert "inside the input folder" in capsys.readouterr().err
    assert sorted(os.listdir(tree)) == ["a.dcm"], "nothing written"
    assert main(["convert", str(tree), "-o", str(tmp_path / "o"), "--bulk-dir",
                 str(tree / "bulk")]) == 2
    assert not (tree / "bulk").exists() and not (tmp_path / "o").exists()


@needs_corpus
def test_to_dicom_refuses_to_write_over_its_original(ct, capsys):
    src, ion = ct
    original = src.read_bytes()
    assert main(["to-dicom", str(ion), "-o", str(src)]) == 1
    assert "original" in capsys.readouterr().err
    assert src.read_bytes() == original


@needs_corpus
def test_several_roots_keep_their_names_and_collisions_are_named_first(tmp_path, capsys):
    for root, src in (("r1", CT), ("r2", J2K)):
        (tmp_path / root / "a").mkdir(parents=True)
        shutil.copy(src, tmp_path / root / "a" / "img.dcm")
    out = tmp_path / "out"
    assert main(["convert", str(tmp_path / "r1" / "a" / "img.dcm"),
                 str(tmp_path / "r2" / "a" / "img.dcm"), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert "collide" in err and "r1/a/img.dcm" in err and "r2/a/img.dcm" in err
    assert not out.exists(), "nothing written before the collision is reported"
    assert main(["convert", str(tmp_path / "r1" / "a"), str(tmp_path / "r2" / "a"), "-o",
                 str(out)]) == 2, "two roots named a collide too"
    assert main(["convert", str(tmp_path / "r1"), str(tmp_path / "r2"), "-o", str(out),
                 "-q"]) == 0
    for root, src in (("r1", CT), ("r2", J2K)):
        doc = dicom2ion.load(out / root / "a" / "img.dcm.ion")
        assert str(doc["fileInfo"]["sha256"]) == dicom2ion.convert(src)["fileInfo"]["sha256"]


# -- permissions ---------------------------------------------------------------------

@needs_corpus
@pytest.mark.parametrize("umask,mode", [(0o022, 0o644), (0o027, 0o640)])
def test_outputs_get_normal_permissions(tmp_path, umask, mode):
    old = os.umask(umask)
    try:
        tree = tmp_path / "in"
        tree.mkdir()
        shutil.copy(CT, tree / "ct.dcm")
        out, bulk = tmp_path / "out", tmp_path / "bulk"
        assert main(["convert", str(tree), "-o", str(out), "--bulk-dir", str(bulk), "-q",
                     "-j", "1"]) == 0
        assert main(["to-dicom", str(out / "ct.dcm.ion"), "-o", str(tmp_path / "back.dcm"),
                     "--bulk-dir", str(bulk)]) == 0
        assert main(["verify", str(tree), "--json", str(tmp_path / "r.json"), "-q"]) == 0
        files = [out / "ct.dcm.ion", tmp_path / "back.dcm", tmp_path / "r.json",
                 *_walk(bulk), *_walk(out / "dicom2ion-manifest.parquet")]
        assert len(files) > 5
        for path in files:
            assert stat.S_IMODE(os.stat(path).st_mode) == mode, path
    finally:
        os.umask(old)


# -- no temporary file survives ------------------------------------------------------

@needs_corpus
def test_full_disk_in_the_bulk_folder_leaves_nothing(tmp_path, monkeypatch, capsys):
    from dicom2ion import bulk as bulk_mod

    real = bulk_mod.BulkDir.begin
    calls = []

    class Full:
        """A file on a disk that fills up after the first value."""

        def __init__(self, fp):
            self.fp = fp

        def write(self, data):
            if calls:
                self.fp.write(data[: len(data) // 2])
                raise OSError(errno.ENOSPC, "No space left on device")
            calls.append(1)
            return self.fp.write(data)

        def close(self):
            self.fp.close()

    def begin(self):
        handle = real(self)
        handle[0] = Full(handle[0])
        return handle

    monkeypatch.setattr(bulk_mod.BulkDir, "begin", begin)
    out, bulk = tmp_path / "ct.ion", tmp_path / "bulk"
    assert main(["convert", str(CT), "-o", str(out), "--bulk-dir", str(bulk),
                 "--standard-limit", "16"]) == 1
    err = capsys.readouterr().err
    assert str(bulk) in err and "No space left" in err, "the error names the bulk folder"
    assert not out.exists()
    assert not _leftovers(bulk, tmp_path)


@needs_corpus
def test_full_disk_for_the_ion_names_the_output(tmp_path, monkeypatch, capsys):
    module = sys.modules["dicom2ion.convert"]
    real = module.dump

    class Full:
        def __init__(self, fp):
            self.fp = fp

        def write(self, data):
            raise OSError(errno.ENOSPC, "No space left on device")

        def __getattr__(self, name):
            return getattr(self.fp, name)

    def dump(doc, fp, **kw):
        fp.fp._fp = Full(fp.fp._fp)      # CountingWriter -> output guard -> the file
        real(doc, fp, **kw)

    monkeypatch.setattr(module, "dump", dump)
    out = tmp_path / "o"
    assert main(["convert", str(CT), "-o", str(out / "ct.ion"), "-j", "1"]) == 1
    err = capsys.readouterr().err
    assert "FAILED" in err and str(out / "ct.ion") in err and "No space left" in err
    assert not _leftovers(out) and not (out / "ct.ion").exists()


@needs_corpus
def test_dev_full_is_a_clear_error(tmp_path, capsys):
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full here")
    assert main(["convert", str(CT), "-o", "/dev/full", "--inline-all"]) == 1
    err = capsys.readouterr().err
    assert "/dev/full: cannot write: No space left" in err and "Traceback" not in err


@needs_corpus
def test_output_error_names_the_output_not_the_input(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_bytes(b"x")
    assert main(["convert", str(CT), "-o", str(blocker / "x.ion")]) in (1, 2)
    err = capsys.readouterr().err
    assert str(blocker / "x.ion") in err or str(blocker) in err
    assert "CT_small" not in err.split("cannot write")[0].split(":")[0]
    assert "Traceback" not in err


def _big_file(tmp_path, size="300M"):
    path = tmp_path / "in" / "big.dcm"
    path.parent.mkdir()
    subprocess.run([sys.executable, str(ROOT / "tools" / "make_big_file.py"), "--size", size,
                    str(path)], check=True, capture_output=True, timeout=120)
    return path


@needs_corpus
@pytest.mark.parametrize("jobs", ["1", "2"])
def test_ctrl_c_during_bulk_writes_leaves_no_part_files(tmp_path, jobs):
    big = _big_file(tmp_path)
    if jobs == "2":
        shutil.copy(CT, big.parent / "small.dcm")
    out, bulk = tmp_path / "out", tmp_path / "bulk"
    proc = subprocess.Popen([sys.executable, "-m", "dicom2ion", "convert", str(big.parent),
                             "-o", str(out), "--bulk-dir", str(bulk), "-j", jobs],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.time() + 60
    while time.time() < deadline and not any(
            n.startswith(".part-") for n in (os.listdir(bulk) if bulk.is_dir() else ())):
        time.sleep(0.01)
    assert any(n.startswith(".part-") for n in os.listdir(bulk)), "caught it mid-value"
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert b"interrupted" in err and b"Traceback" not in err
    assert not _leftovers(out, bulk, big.parent)
    assert not (out / "big.dcm.ion").exists()


# -- reports -------------------------------------------------------------------------

@needs_corpus
def test_verify_json_to_an_unwritable_path_fails_first(tmp_path, capsys, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_bytes(b"x")
    import dicom2ion.engine as engine

    monkeypatch.setattr(engine, "process", lambda *a: pytest.fail("work started"))
    assert main(["verify", str(CT), "--json", str(blocker / "r.json")]) == 2
    err = capsys.readouterr().err
    assert str(blocker / "r.json") in err and "Traceback" not in err


@needs_corpus
def test_verify_into_head_has_no_broken_pipe(tmp_path):
    tree = tmp_path / "in"
    tree.mkdir()
    for i in range(40):
        shutil.copy(CT, tree / f"{i:02d}.dcm")
    result = subprocess.run(f"{sys.executable} -m dicom2ion verify -v {tree} | head -1",
                            shell=True, capture_output=True, timeout=120)
    assert result.stdout.startswith(b"identical")
    assert b"BrokenPipe" not in result.stderr and b"Traceback" not in result.stderr


# -- nonsensical options -------------------------------------------------------------

@needs_corpus
@pytest.mark.parametrize("argv,words", [
    (["convert", str(CT), "--standard-limit", "-5"], "negative"),
    (["convert", str(CT), "--private-limit", "x"], "whole number"),
    (["convert", str(CT), "--inline-all", "--bulk-dir", "B"], "--inline-all"),
    (["convert", str(CT), "--jobs", "-2"], "negative"),
    (["to-dicom", "x.ion", "-o", "y.dcm", "--transfer-syntax", "1.2.840.10008.1.2"],
     "--canonical"),
    (["to-dicom", "x.ion", "-o", "y.dcm", "--canonical", "--transfer-syntax",
      "1.2.840.10008.1.2.4.50"], "native"),
])
def test_nonsensical_options_are_refused(argv, words, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) if "negative" in words or "number" in words else \
            _nothing():
        assert main(argv) == 2
    err = capsys.readouterr().err
    assert words in err and "Traceback" not in err
    assert not os.listdir(tmp_path), "nothing written"


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


@needs_corpus
def test_transfer_syntax_that_does_not_fit_the_pixel_data(tmp_path, capsys):
    ion = tmp_path / "j.ion"
    assert main(["convert", str(J2K), "-o", str(ion), "-q"]) == 0
    out = tmp_path / "j.dcm"
    assert main(["to-dicom", str(ion), "-o", str(out), "--canonical", "--transfer-syntax",
                 "1.2.840.10008.1.2"]) == 1
    err = capsys.readouterr().err
    assert "does not fit the pixel data" in err and "encapsulated" in err
    assert not out.exists()
