"""dicom2ion dump: dcmdump-like lines, private names, tag selection and
early stop, top level only, several files (#16)."""

from __future__ import annotations

import io
import re

import pytest

from dicom2ion.cli import main
from dicom2ion.events import End
from dicom2ion.listing import dump_lines
from dicom2ion.p10.source import iter_events

from conftest import CORPUS, FIXTURES

CT = CORPUS / "pydicom" / "test_files__CT_small.dcm"
needs_corpus = pytest.mark.skipif(not CT.exists(), reason="corpus absent")
LINE = re.compile(r"^\s*\d+ +\s*\(([0-9a-f]{4}),([0-9a-f]{4})\) (\S\S) (.*?)\s+# +(\S+), (\d+) (.+)$")


def _parsed(lines):
    return [LINE.match(line).groups() for line in lines if LINE.match(line)]


@needs_corpus
def test_lines_look_like_dcmdump_with_private_names_and_vm():
    lines = list(dump_lines(iter_events(CT)))
    rows = {(g + e).upper(): (vr, value, length, count, name)
            for g, e, vr, value, length, count, name in _parsed(lines)}
    assert rows["00100010"] == ("PN", "[CompressedSamples^CT1]", "22", "1", "PatientName")
    assert rows["00080008"][3] == "3" and rows["00080008"][1] == "[ORIGINAL\\PRIMARY\\AXIAL]"
    assert rows["00091001"][4] == "FullFidelity"            # private, by its creator
    assert rows["00090010"][4] == "PrivateCreator"
    assert rows["00431012"][1] == "14\\2\\3" and rows["00431012"][3] == "3"
    uid = rows["00020003"][1]
    assert uid == "[1.3.6.1.4.1.5962.1.1.1.1.1.20040119072730.12322]"   # in full


@needs_corpus
def test_full_uids_even_when_values_are_cut():
    lines = list(dump_lines(iter_events(CT), width=12))
    rows = {(g + e).upper(): value for g, e, _, value, *_ in _parsed(lines)}
    assert rows["00020003"] == "[1.3.6.1.4.1.5962.1.1.1.1.1.20040119072730.12322]"
    assert len(rows["00080008"]) <= 12


@needs_corpus
def test_tag_selection_stops_reading_early():
    consumed = []

    def counted():
        for event in iter_events(CT):
            consumed.append(event)
            yield event

    lines = list(dump_lines(counted(), tags={0x00100010, 0x00091001, 0x00020010}))
    assert [(g + e).upper() for g, e, *_ in _parsed(lines)] == ["00020010", "00091001",
                                                               "00100010"]
    assert len(lines) == 3
    assert not any(type(e) is End for e in consumed)      # it stopped before the end
    assert len(consumed) < len(list(iter_events(CT))) // 2


def test_top_level_leaves_out_items():
    path = FIXTURES / "example_ct.dcm"
    full = list(dump_lines(iter_events(path)))
    top = list(dump_lines(iter_events(path), top_level=True))
    assert any("(fffe,e000)" in line for line in full)
    assert not any("(fffe,e000)" in line for line in top)
    assert any("ReferencedStudySequence" in line for line in top)


def test_cli_dump_several_files_with_tags(capsys):
    path = str(FIXTURES / "example_ct.dcm")
    assert main(["dump", path, path, "--tag", "PatientName", "--tag", "0028,0010",
                 "--tag", "(0008,0060)"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out.count(f"# {path}") == 2
    names = [row[6] for row in _parsed(out)]
    assert names == ["Modality", "PatientName", "Rows"] * 2


def test_cli_dump_unknown_tag_is_an_error(capsys):
    assert main(["dump", str(FIXTURES / "example_ct.dcm"), "--tag", "NoSuchName"]) == 2
    assert "NoSuchName" in capsys.readouterr().err


def test_header_of_a_large_file_is_read_without_its_pixel_data(tmp_path):
    """dump --tag stops at the first requested tags' end: of a 64 MB file
    made by tools/make_big_file.py only the first read is consumed."""
    import subprocess
    import sys

    from conftest import ROOT

    big = tmp_path / "big.dcm"
    subprocess.run([sys.executable, str(ROOT / "tools" / "make_big_file.py"), str(big),
                    "--size", "64M"], check=True, capture_output=True)
    size = big.stat().st_size
    read = []

    class Counted(io.FileIO):
        def read(self, n=-1):
            data = super().read(n)
            read.append(len(data))
            return data

    with Counted(big) as fp:
        lines = list(dump_lines(iter_events(fp), tags={0x00100010, 0x00280010}))
    assert len(lines) == 2 and "PatientName" in lines[0] and "Rows" in lines[1]
    assert size > 60_000_000 and sum(read) <= 4 << 20      # a few MB of 64, not all
