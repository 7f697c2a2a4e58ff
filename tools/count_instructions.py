"""Instructions that one pass of a stage executes, under valgrind's callgrind:
a measure of the Python work per element that does not move with the load
on the machine (wall and CPU times do, on a shared machine).

    python tools/count_instructions.py convert            # every 8th corpus file
    python tools/count_instructions.py read convert dump to-dicom load-to-dicom --step 4

Stages: read (events of each file's bytes), convert, dump (convert + binary
Ion), to-dicom (to_dicom_bytes of documents loaded beforehand), load-to-dicom
(dicom2ion.load of the binary Ion + to_dicom_bytes).
Collection is on only during the measured pass (the pass runs inside
``sorted``'s key function and callgrind toggles on ``builtin_sorted``); a
pass before it warms the caches and lazy imports. The count of libcrypto
(sha256, done in software under valgrind, in hardware outside it) is shown
apart. Needs valgrind and callgrind_annotate; slow (about 40x).
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CORPUS = Path(os.environ.get("DICOM2ION_CORPUS", ROOT.parent / "shared" / "corpus"))
STAGES = ("read", "convert", "dump", "to-dicom", "load-to-dicom")

CHILD = r'''
import os, sys, tempfile
sys.path.insert(0, sys.argv[1])
stage, files = sys.argv[2], sys.argv[3:]
import dicom2ion
from dicom2ion.ion import codec
from dicom2ion.p10.reader import P10Reader
good, ions = [], []
for path in files:                      # the files every stage takes
    try:
        ion = codec.dumps(dicom2ion.convert(path))
        dicom2ion.to_dicom_bytes(codec.loads(ion))
    except Exception:
        continue
    fd, name = tempfile.mkstemp(suffix=".ion")
    os.write(fd, ion)
    os.close(fd)
    good.append(path)
    ions.append(name)
datas = [open(p, "rb").read() for p in good]
docs = [dicom2ion.load(ion) for ion in ions] if stage == "to-dicom" else []
def one(_=None):
    if stage == "read":
        for data in datas:
            reader = P10Reader(total_size=len(data), strict=False)   # (as convert reads)
            reader.feed(data)
            reader.close()
            for _event in reader.events():
                pass
    elif stage == "convert":
        for path in good:
            dicom2ion.convert(path)
    elif stage == "dump":
        for path in good:
            codec.dumps(dicom2ion.convert(path))
    elif stage == "to-dicom":
        for doc in docs:
            dicom2ion.to_dicom_bytes(doc)
    else:
        for ion in ions:
            dicom2ion.to_dicom_bytes(dicom2ion.load(ion))
    return 0
one()
sorted([0], key=one)                    # the measured pass
for ion in ions:
    os.unlink(ion)
print(len(good))
'''


def corpus_files(folder: Path, step: int) -> list:
    files = [str(f) for f in sorted(folder.rglob("*"))
             if f.is_file() and not f.name.endswith((".md", ".txt"))]
    return files[::step]


def count(stage: str, files: list, tree: str) -> dict:
    with tempfile.TemporaryDirectory(prefix="dicom2ion-callgrind-") as work:
        out = os.path.join(work, "callgrind.out")
        proc = subprocess.run(
            ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}",
             "--toggle-collect=builtin_sorted", sys.executable, "-c", CHILD, tree, stage, *files],
            capture_output=True, text=True)
        if proc.returncode != 0:
            raise SystemExit(f"count_instructions: {stage} failed:\n{proc.stderr[-2000:]}")
        annotated = subprocess.run(["callgrind_annotate", out], capture_output=True,
                                   text=True).stdout
    total = crypto = 0
    for line in annotated.splitlines():
        match = re.match(r"\s*([\d,]+) \(.*?\)\s+(.*)", line)
        if not match:
            continue
        n = int(match.group(1).replace(",", ""))
        if "PROGRAM TOTALS" in line:
            total = n
        elif "libcrypto" in line:
            crypto += n
    return {"files": int(proc.stdout.split()[-1]), "total": total, "sha256": crypto}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("stages", nargs="+", choices=STAGES)
    parser.add_argument("--corpus", default=str(DEFAULT_CORPUS))
    parser.add_argument("--step", type=int, default=8, help="every STEP-th corpus file")
    parser.add_argument("--tree", default=str(ROOT), help="the checkout whose dicom2ion runs")
    args = parser.parse_args(argv)
    files = corpus_files(Path(args.corpus), args.step)
    for stage in args.stages:
        r = count(stage, files, args.tree)
        print(f"{stage:14s} {r['files']:4d} files  {r['total'] / 1e6:8.1f} M instructions, "
              f"without sha256 {(r['total'] - r['sha256']) / 1e6:8.1f} M")
    return 0


if __name__ == "__main__":
    sys.exit(main())
