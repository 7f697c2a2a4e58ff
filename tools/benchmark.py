#!/usr/bin/env python3
"""Speed of dicom2ion next to references, in the same run, on the same files.

    python tools/benchmark.py                      # the whole corpus, best of 3
    python tools/benchmark.py some.dcm folder/ --repeat 5 --json out.json
    python tools/benchmark.py --only convert,pydicom
    python tools/benchmark.py --profile convert    # cProfile, top 25 functions

Stages (each reads its file from disk every time, the page cache being warm
after the preflight pass):

    sha256       hashlib.sha256 over the file's bytes: the floor
    pydicom      pydicom.dcmread(path, force=True) and a recursive walk that
                 touches every element's ``.value`` (file meta included), so
                 every element is parsed and converted, as a full conversion
                 does; no defer_size
    read         list(iter_events(path)): dicom2ion's events only
    convert      dicom2ion.convert(path): the Ion document in memory
    dump-binary  convert + codec.dumps(doc, binary=True)
    dump-text    convert + codec.dumps(doc, binary=False) (compact text)
    to-dicom     to_dicom_bytes(doc) from a binary Ion document loaded
                 beforehand (bulk values are read back from the source file)

A preflight pass runs every stage once on every file; a file that fails any
stage (DicomParseError for dicom2ion, anything pydicom raises) is listed and
left out of every column, so all columns cover the same files. Each stage's
time is the best of ``--repeat`` passes over all the files (the passes of
the stages alternate, round by round); files/s and MB/s
(10^6 bytes of input) follow from it, and "vs" columns are that time divided
by the reference's time (2.0x = twice as slow).
"""

from __future__ import annotations

import argparse
import cProfile
import datetime
import gc
import hashlib
import json
import os
import platform
import pstats
import sys
import time
import warnings
from pathlib import Path
from typing import Callable, Dict, List, Optional, Tuple

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CORPUS = Path(os.environ.get("DICOM2ION_CORPUS", ROOT.parent / "shared" / "corpus"))

sys.path.insert(0, str(ROOT))

import pydicom  # noqa: E402
from amazon.ion import simpleion  # noqa: E402

import dicom2ion  # noqa: E402
from dicom2ion.ion import codec  # noqa: E402
from dicom2ion.p10.source import iter_events  # noqa: E402

STAGES = ("sha256", "pydicom", "read", "convert", "dump-binary", "dump-text", "to-dicom")
LABELS = {
    "sha256": "sha256 (floor)",
    "pydicom": "pydicom read+walk",
    "read": "dicom2ion read",
    "convert": "dicom2ion convert",
    "dump-binary": "convert+dump binary",
    "dump-text": "convert+dump text",
    "to-dicom": "dicom2ion to-dicom",
}
COLUMNS = ("stage", "seconds", "files/s", "MB/s", "vs pydicom", "vs sha256")


# -- the stages ------------------------------------------------------------------

def _sha256(path: str, docs: dict) -> None:
    with open(path, "rb") as fp:
        hashlib.sha256(fp.read()).digest()


def _walk(dataset) -> int:
    count = 0
    for elem in dataset:            # converts each raw element
        value = elem.value
        count += 1
        if elem.VR == "SQ" and value:
            for item in value:
                count += _walk(item)
    return count


def _pydicom(path: str, docs: dict) -> None:
    ds = pydicom.dcmread(path, force=True)
    meta = getattr(ds, "file_meta", None)
    if meta is not None:
        _walk(meta)
    _walk(ds)


def _read(path: str, docs: dict) -> None:
    list(iter_events(path))


def _convert(path: str, docs: dict) -> None:
    dicom2ion.convert(path)


def _dump_binary(path: str, docs: dict) -> None:
    codec.dumps(dicom2ion.convert(path), binary=True)


def _dump_text(path: str, docs: dict) -> None:
    codec.dumps(dicom2ion.convert(path), binary=False)


def _to_dicom(path: str, docs: dict) -> None:
    dicom2ion.to_dicom_bytes(docs[path])


RUNNERS: Dict[str, Callable[[str, dict], None]] = {
    "sha256": _sha256, "pydicom": _pydicom, "read": _read, "convert": _convert,
    "dump-binary": _dump_binary, "dump-text": _dump_text, "to-dicom": _to_dicom,
}


# -- files -----------------------------------------------------------------------

def find_files(paths: List[str]) -> List[str]:
    """Files named, and every file under named folders (no .md/.txt), sorted."""
    found = []
    for given in paths:
        p = Path(given)
        if p.is_dir():
            found.extend(str(f) for f in sorted(p.rglob("*"))
                         if f.is_file() and not f.name.endswith((".md", ".txt")))
        elif p.is_file():
            found.append(str(p))
        else:
            raise SystemExit(f"benchmark: no such file or folder: {given}")
    return found


def preflight(files: List[str]) -> Tuple[List[str], Dict[str, str], Dict[str, object]]:
    """Run every stage once per file. Returns (usable files, excluded
    {path: reason}, pre-loaded binary-Ion documents for to-dicom)."""
    good, excluded, docs = [], {}, {}
    for path in files:
        try:
            doc = dicom2ion.convert(path)
            docs[path] = codec.loads(codec.dumps(doc, binary=True))
        except Exception as exc:
            excluded[path] = f"dicom2ion convert: {type(exc).__name__}: {exc}"
            continue
        for stage in STAGES:
            try:
                RUNNERS[stage](path, docs)
            except Exception as exc:
                excluded[path] = f"{stage}: {type(exc).__name__}: {exc}"
                docs.pop(path, None)
                break
        else:
            good.append(path)
    return good, excluded, docs


# -- timing ----------------------------------------------------------------------

def time_pass(stage: str, files: List[str], docs: dict, per_file: Dict[str, float]) -> float:
    """One pass of ``stage`` over ``files``: its total; keeps each file's best."""
    run = RUNNERS[stage]
    clock = time.perf_counter
    gc.collect()
    start = clock()
    for path in files:
        t0 = clock()
        run(path, docs)
        t = clock() - t0
        if t < per_file.get(path, float("inf")):
            per_file[path] = t
    return clock() - start


def time_stages(stages: List[str], files: List[str], docs: dict, repeat: int) -> Dict[str, dict]:
    """``repeat`` rounds, each a pass of every stage in turn (so a burst of
    load elsewhere on the machine hits the stages alike); per stage the best
    total, every total, and each file's best time."""
    results = {stage: {"runs": [], "per_file": {}} for stage in stages}
    for _ in range(repeat):
        for stage in stages:
            r = results[stage]
            r["runs"].append(time_pass(stage, files, docs, r["per_file"]))
    for r in results.values():
        r["seconds"] = min(r["runs"])
    return results


def profile_stage(stage: str, files: List[str], docs: dict, *, sort: str, lines: int,
                  out=None) -> None:
    run = RUNNERS[stage]
    profiler = cProfile.Profile()
    gc.collect()
    profiler.enable()
    for path in files:
        run(path, docs)
    profiler.disable()
    stats = pstats.Stats(profiler, stream=out or sys.stdout)
    stats.strip_dirs().sort_stats(sort).print_stats(lines)


# -- reporting -------------------------------------------------------------------

def machine_info() -> dict:
    try:
        from importlib.metadata import version
        ion_version = version("amazon.ion")
    except Exception:  # pragma: no cover - metadata missing
        ion_version = "unknown"
    cpu = platform.processor() or ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fp:
            for line in fp:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "amazon.ion": ion_version,
        "amazon.ion c_ext": bool(getattr(simpleion, "c_ext", False)),
        "pydicom": pydicom.__version__,
        "dicom2ion": dicom2ion.__version__,
        "cpu_count": os.cpu_count(),
        "cpu": cpu,
        "platform": platform.platform(),
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }


def summarise(results: Dict[str, dict], nfiles: int, nbytes: int) -> Dict[str, dict]:
    ref = {name: results[name]["seconds"] for name in ("pydicom", "sha256") if name in results}
    table = {}
    for stage in STAGES:
        if stage not in results:
            continue
        seconds = results[stage]["seconds"]
        row = {
            "label": LABELS[stage],
            "seconds": seconds,
            "runs": results[stage]["runs"],
            "files_per_s": nfiles / seconds if seconds else None,
            "mb_per_s": nbytes / 1e6 / seconds if seconds else None,
            "vs_pydicom": seconds / ref["pydicom"] if ref.get("pydicom") else None,
            "vs_sha256": seconds / ref["sha256"] if ref.get("sha256") else None,
        }
        table[stage] = row
    return table


def _fmt(value, spec: str, suffix: str = "") -> str:
    return "-" if value is None else format(value, spec) + suffix


def format_table(table: Dict[str, dict]) -> str:
    widths = (14, 10, 10, 10, 12, 11)
    head = "".join(c.ljust(w) if i == 0 else c.rjust(w)
                   for i, (c, w) in enumerate(zip(COLUMNS, widths)))
    lines = [head, "-" * len(head)]
    for stage, row in table.items():
        cells = (stage, _fmt(row["seconds"], ".3f"), _fmt(row["files_per_s"], ".1f"),
                 _fmt(row["mb_per_s"], ".1f"), _fmt(row["vs_pydicom"], ".2f", "x"),
                 _fmt(row["vs_sha256"], ".1f", "x"))
        lines.append("".join(c.ljust(w) if i == 0 else c.rjust(w)
                             for i, (c, w) in enumerate(zip(cells, widths))))
    return "\n".join(lines)


def _stage_list(text: Optional[str]) -> List[str]:
    if not text:
        return list(STAGES)
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in RUNNERS]
    if unknown:
        raise argparse.ArgumentTypeError(
            f"unknown stage(s) {', '.join(unknown)}; choose from {', '.join(STAGES)}")
    return [s for s in STAGES if s in names]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description="Benchmark dicom2ion against sha256 and pydicom on the same files.",
        epilog="stages: " + ", ".join(STAGES))
    parser.add_argument("paths", nargs="*",
                        help=f"files and folders (default: the corpus, {DEFAULT_CORPUS})")
    parser.add_argument("--repeat", type=int, default=3, help="passes per stage; best counts")
    parser.add_argument("--only", type=_stage_list, default=list(STAGES),
                        help="comma-separated stages to time (ratios need their reference)")
    parser.add_argument("--json", help="write the numbers and machine info here")
    parser.add_argument("--profile", choices=STAGES,
                        help="cProfile one pass of this stage instead of timing")
    parser.add_argument("--sort", default="cumulative",
                        choices=("cumulative", "tottime", "ncalls"),
                        help="with --profile: order of the functions (default cumulative)")
    parser.add_argument("--lines", type=int, default=25, help="with --profile: functions shown")
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")

    paths = args.paths or [str(DEFAULT_CORPUS)]
    if not args.paths and not DEFAULT_CORPUS.is_dir():
        parser.error(f"no corpus at {DEFAULT_CORPUS}; name files or folders")
    files = find_files(paths)
    if not files:
        parser.error("no input files")

    warnings.simplefilter("ignore")    # pydicom warns about odd files; not timed
    info = machine_info()
    print(f"python {info['python']}, amazon.ion {info['amazon.ion']} "
          f"(c_ext {info['amazon.ion c_ext']}), pydicom {info['pydicom']}, "
          f"{info['cpu_count']} CPUs ({info['cpu'] or 'unknown'}), {info['date']}")

    t0 = time.perf_counter()
    good, excluded, docs = preflight(files)
    nbytes = sum(os.path.getsize(p) for p in good)
    print(f"{len(good)} files, {nbytes / 1e6:.1f} MB; {len(excluded)} excluded "
          f"(preflight {time.perf_counter() - t0:.1f} s)")
    for path, reason in excluded.items():
        print(f"  excluded {path}: {reason[:200]}")
    if not good:
        print("benchmark: no file passed every stage", file=sys.stderr)
        return 1

    if args.profile:
        print(f"profile of one pass of {args.profile} over {len(good)} files "
              f"(sorted by {args.sort}):")
        profile_stage(args.profile, good, docs, sort=args.sort, lines=args.lines)
        return 0

    results = time_stages(args.only, good, docs, args.repeat)
    table = summarise(results, len(good), nbytes)
    print(f"best of {args.repeat}:")
    print(format_table(table))

    if args.json:
        payload = {
            "machine": info,
            "repeat": args.repeat,
            "files": len(good),
            "bytes": nbytes,
            "excluded": [{"path": p, "reason": r} for p, r in excluded.items()],
            "columns": list(COLUMNS),
            "stages": table,
            "per_file": {p: {"size": os.path.getsize(p),
                             **{s: results[s]["per_file"][p] for s in results}}
                         for p in good},
        }
        with open(args.json, "w", encoding="utf-8") as fp:
            json.dump(payload, fp, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
