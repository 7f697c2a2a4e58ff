#!/usr/bin/env python3
"""Shallow reads against a full load on a large ``--inline-all`` document.

    python tools/shallow_benchmark.py                 # 200 MB, made in a temp folder
    python tools/shallow_benchmark.py --size 1G --json out.json

Writes a P10 file with ``tools/make_big_file.py`` (``--size`` of pixel
data), converts it with every value inline (so the Ion document holds the
pixel data: a ~``--size`` binary Ion file), then times, best of
``--repeat``:

* ``full``: ``dicom2ion.load(doc)``;
* ``shallow``: ``dicom2ion.load(doc, fields=COMMON)`` (the walker in
  ``dicom2ion/ion/shallow.py``: header lengths and seeks);
* ``shallow private``: a private attribute that comes after PixelData, so
  the walk seeks over the whole pixel blob;
* ``amazon.ion reader``: amazon.ion's own incremental reader
  (``blocking_reader`` over ``binary_reader``) finding the same common
  attributes and then skipping to the end, as a reference;

checks that the shallow values equal the full load's and prints the speed-ups.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import dicom2ion  # noqa: E402
from make_big_file import parse_size, write_big_file  # noqa: E402

COMMON = ["StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID", "SOPClassUID",
          "PatientName", "PatientID", "StudyDate", "Modality", "Rows", "Columns",
          "NumberOfFrames"]


def best(func, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return min(times)


def amazon_reader(path: str, names: set) -> dict:
    """The common attributes with amazon.ion's incremental reader, then skip
    the rest of dataSet and the document (what its API offers)."""
    from amazon.ion.core import IonEventType
    from amazon.ion.reader import NEXT_EVENT, SKIP_EVENT, blocking_reader
    from amazon.ion.reader_binary import binary_reader
    from amazon.ion.reader_managed import managed_reader
    found = {}
    with open(path, "rb") as fp:
        reader = blocking_reader(managed_reader(binary_reader()), fp, buffer_size=1 << 20)
        event = reader.send(NEXT_EVENT)            # the document struct
        in_data_set = False
        while True:
            event = reader.send(NEXT_EVENT)
            if event.event_type is IonEventType.STREAM_END:
                break
            if event.depth == 1 and event.event_type is IonEventType.CONTAINER_START:
                if getattr(event.field_name, "text", None) == "dataSet":
                    in_data_set = True
                    continue
                reader.send(SKIP_EVENT)
                continue
            if in_data_set and event.depth == 2:
                name = getattr(event.field_name, "text", None)
                if event.event_type is IonEventType.CONTAINER_START:
                    reader.send(SKIP_EVENT)
                elif event.event_type is IonEventType.SCALAR and name in names:
                    found[name] = event.value
                if len(found) == len(names):
                    reader.send(SKIP_EVENT)            # rest of dataSet
                    in_data_set = False
            if event.event_type is IonEventType.CONTAINER_END and event.depth == 0:
                break
    return found


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=parse_size, default=parse_size("200M"))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", help="write the numbers here")
    parser.add_argument("--keep", help="folder to write the files to (kept)")
    args = parser.parse_args(argv)
    folder = args.keep or tempfile.mkdtemp(prefix="dicom2ion-shallow-")
    os.makedirs(folder, exist_ok=True)
    p10 = os.path.join(folder, "big.dcm")
    doc_path = os.path.join(folder, "big.ion")
    try:
        write_big_file(p10, args.size)
        doc = dicom2ion.convert(p10, inline_all=True)
        doc["dataSet"]["00990010"] = "DICOM2ION BENCH"      # a private block after PixelData
        doc["dataSet"]["00991001"] = "after the pixels"
        with open(doc_path, "wb") as fp:
            dicom2ion.dump(doc, fp)
        del doc
        size = os.path.getsize(doc_path)
        full = dicom2ion.load(doc_path)
        shallow = dicom2ion.load(doc_path, fields=COMMON)
        for name in shallow["dataSet"]:
            assert shallow["dataSet"][name] == full["dataSet"][name], name
        assert set(shallow["dataSet"]) == {n for n in COMMON if n in full["dataSet"]}
        private = dicom2ion.load(doc_path, fields=["00991001"])
        assert private["dataSet"]["00991001"] == full["dataSet"]["00991001"]
        del full
        t_full = best(lambda: dicom2ion.load(doc_path), args.repeat)
        t_shallow = best(lambda: dicom2ion.load(doc_path, fields=COMMON), args.repeat)
        t_private = best(lambda: dicom2ion.load(doc_path, fields=["00991001"]), args.repeat)
        present = {n for n in COMMON if n in shallow["dataSet"]}
        assert amazon_reader(doc_path, present).keys() == present
        t_amazon = best(lambda: amazon_reader(doc_path, present), 1)
        assert amazon_reader(doc_path, {"00991001"}) == {"00991001": "after the pixels"}
        t_amazon_private = best(lambda: amazon_reader(doc_path, {"00991001"}), 1)
        result = {
            "document_bytes": size, "full_load_s": t_full, "shallow_s": t_shallow,
            "shallow_private_s": t_private, "amazon_ion_reader_s": t_amazon,
            "amazon_ion_reader_private_s": t_amazon_private,
            "speedup_common": t_full / t_shallow, "speedup_private": t_full / t_private,
        }
        print(f"document: {size / 1e6:.1f} MB binary Ion (--inline-all)")
        print(f"full load():                          {t_full * 1000:9.1f} ms")
        print(f"load(fields=common, {len(COMMON)} names):       {t_shallow * 1000:9.3f} ms "
              f"({t_full / t_shallow:.0f}x faster)")
        print(f"load(fields=[private after pixels]):  {t_private * 1000:9.3f} ms "
              f"({t_full / t_private:.0f}x faster)")
        print(f"amazon.ion incremental reader, common:  {t_amazon * 1000:9.1f} ms (reference)")
        print(f"amazon.ion incremental reader, private: {t_amazon_private * 1000:9.1f} ms "
              "(reads the pixel blob)")
        if args.json:
            with open(args.json, "w") as fp:
                json.dump(result, fp, indent=2)
        return 0 if result["speedup_common"] >= 50 else 1
    finally:
        if not args.keep:
            for name in (p10, doc_path):
                if os.path.exists(name):
                    os.unlink(name)
            os.rmdir(folder)


if __name__ == "__main__":
    sys.exit(main())
