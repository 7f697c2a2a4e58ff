"""Another Ion implementation (ion-js, run with Node.js) reads what we write.

The documents we write as binary and as text Ion are read by ion-js,
written back as text, and loaded again with amazon.ion: the values must be
equal. Node.js and npm come from the machine; the test installs ion-js into
tools/ionjs/node_modules on first use.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

import dicom2ion
from dicom2ion.ion import codec
from dicom2ion.ion.equality import ion_same

from conftest import FIXTURES, ROOT, good_corpus_files

IONJS = ROOT / "tools" / "ionjs"

pytestmark = pytest.mark.skipif(shutil.which("node") is None or shutil.which("npm") is None,
                                reason="Node.js and npm are needed to run ion-js")


@pytest.fixture(scope="module")
def ionjs():
    if not (IONJS / "node_modules" / "ion-js").is_dir():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--silent"], cwd=IONJS,
                       check=True, timeout=300)
    return IONJS / "reencode.js"


def _sample(all_files: bool) -> list:
    files = sorted(FIXTURES.glob("*.dcm")) + good_corpus_files()
    if all_files:
        return files
    # every fixture and every tenth corpus file: all kinds of value, quickly
    fixtures = [f for f in files if f.parent == FIXTURES]
    corpus = [f for f in files if f.parent != FIXTURES]
    return fixtures + corpus[::10]


def _check(files, ionjs, tmp_path):
    docs, inputs = [], []
    for i, path in enumerate(files):
        try:
            doc = dicom2ion.convert(path)
        except dicom2ion.DicomParseError:
            continue  # broken fixtures are checked elsewhere
        for binary in (True, False):
            name = tmp_path / f"in{i}{'b' if binary else 't'}.ion"
            name.write_bytes(codec.dumps(doc, binary=binary))
            inputs.append(name)
            docs.append((path, binary, codec.loads(codec.dumps(doc))))
    out = tmp_path / "out"
    out.mkdir()
    subprocess.run(["node", str(ionjs), str(out), *map(str, inputs)], check=True, timeout=600)
    assert inputs, "no documents to check"
    for index, (path, binary, ours) in enumerate(docs):
        theirs = codec.loads((out / f"{index}.ion").read_bytes())
        assert ion_same(ours, theirs), f"ion-js reads {path.name} ({'binary' if binary else 'text'}) differently"
        # and the Ion that ion-js wrote still rebuilds the original bytes
        if path.parent == FIXTURES or index % 7 == 0:
            assert dicom2ion.to_dicom_bytes(theirs, source=str(path)) == path.read_bytes()


def test_ion_js_reads_our_binary_and_text(ionjs, tmp_path):
    _check(_sample(False), ionjs, tmp_path)


@pytest.mark.slow
def test_ion_js_reads_every_corpus_file(ionjs, tmp_path):
    _check(_sample(True), ionjs, tmp_path)
