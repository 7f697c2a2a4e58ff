#!/usr/bin/env python3
"""What ``dicom2ion.load`` costs next to amazon.ion's plain ``loads``.

    python tools/load_benchmark.py [CORPUS_DIR] [--repeat 5]

Converts every readable P10 file under CORPUS_DIR (default
``../shared/corpus``) to binary Ion once, then times, best of ``--repeat``,
loading all the documents with:

* ``amazon.ion ION_PY``: ``simpleion.loads`` with its default value model
  (what ``load`` did before empty values got one type);
* ``amazon.ion MAY_BE_BARE``: the bare value model alone;
* ``dicom2ion.load``: the bare model plus the walk that makes every empty
  value ``None`` or ``Null`` (``dicom2ion/ion/null.py``).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from amazon.ion import simpleion  # noqa: E402

import dicom2ion  # noqa: E402
from dicom2ion.ion import codec  # noqa: E402


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("corpus", nargs="?",
                        default=str(Path(__file__).resolve().parent.parent.parent
                                    / "shared" / "corpus"))
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    blobs = []
    for root, _, names in os.walk(args.corpus):
        for name in sorted(names):
            try:
                blobs.append(codec.dumps(dicom2ion.convert(os.path.join(root, name))))
            except dicom2ion.Dicom2IonError:
                pass
    if not blobs:
        print("no documents", file=sys.stderr)
        return 1

    def best(load) -> float:
        times = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            for blob in blobs:
                load(blob)
            times.append(time.perf_counter() - start)
        return min(times)

    bare = simpleion.IonPyValueModel.MAY_BE_BARE
    rows = [
        ("amazon.ion ION_PY", best(lambda b: simpleion.loads(b, single_value=True))),
        ("amazon.ion MAY_BE_BARE", best(lambda b: simpleion.loads(b, single_value=True,
                                                                  value_model=bare))),
        ("dicom2ion.load", best(dicom2ion.load)),
    ]
    size = sum(len(b) for b in blobs)
    print(f"{len(blobs)} documents, {size / 1e6:.1f} MB of binary Ion, best of {args.repeat}")
    for label, seconds in rows:
        print(f"  {label:<24} {seconds * 1000:8.1f} ms  {size / seconds / 1e6:7.1f} MB/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
