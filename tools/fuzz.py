#!/usr/bin/env python3
"""Fuzz the round trip P10 -> Ion (binary) -> P10 on damaged input.

Every input is converted, dumped as binary Ion, loaded back and rebuilt with
``to_dicom``; the outcome is one of

    exact      the rebuild equals the input byte for byte
    refused    convert raised one of the project's errors (Dicom2IonError)
    DIFFERENT  accepted, but rebuilt differently or the rebuild failed
               (silent loss: the worst class)
    crash      any other exception (a traceback)
    slow       over 1 s per MB (with a floor for tiny inputs), or a hang

Modes:

    python tools/fuzz.py mutate [-n 20000] [--seed 1] [--jobs 2] [--out DIR] [--json FILE]
        A deterministic mutation run: input i is mutant i of the seed files
        (fixtures/ and the small files of ../shared/corpus), made by
        truncations, flipped bytes, bogus lengths, inserted or deleted bytes,
        item and delimiter tags pasted in, meta group lies and spliced files,
        always keeping the 128-byte preamble and "DICM". Offending inputs
        are written to --out for reproduction.
    python tools/fuzz.py repro FILE...
        Run files through the same check and print the outcome (with the
        traceback of a crash).
    python tools/fuzz.py atheris [libFuzzer options]
        Coverage-guided fuzzing with atheris (``pip install -e '.[fuzz]'``),
        seeded with the same files, asserting the same property.

    python tools/fuzz.py hostile [--scale small|large]
        The hostile inputs of tools/hostile.py, each checked in a child process.

Peak memory: each worker reports its peak RSS, and every ``--trace-every``-th
input is run under tracemalloc for its peak Python allocation.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import multiprocessing
import os
import random
import resource
import signal
import struct
import sys
import tempfile
import threading
import time
import traceback
from collections import Counter
from pathlib import Path
from typing import Callable, Dict, List, NamedTuple, Optional, Sequence, Tuple

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

_instrumented = contextlib.nullcontext()
if __name__ == "__main__" and sys.argv[1:2] == ["atheris"]:
    try:
        import atheris
    except ImportError:
        raise SystemExit("atheris is not installed: pip install -e '.[fuzz]'") from None
    # coverage comes from the package's code only (instrumenting everything is slow)
    _instrumented = atheris.instrument_imports(include=["dicom2ion"])
with _instrumented:
    from dicom2ion.convert import convert, to_dicom_bytes  # noqa: E402
    from dicom2ion.errors import Dicom2IonError  # noqa: E402
    from dicom2ion.ion import codec  # noqa: E402
    from dicom2ion.p10.reader import P10Reader  # noqa: E402

FIXTURES = ROOT / "fixtures"
CORPUS = Path(os.environ.get("DICOM2ION_CORPUS", ROOT.parent / "shared" / "corpus"))
CLASSES = ("exact", "refused", "DIFFERENT", "crash", "slow")
SECONDS_PER_MB = 1.0
TIME_FLOOR = 0.25            # seconds allowed for any input, however small
HANG_AFTER = 20.0            # an input still running after this is stopped
MAX_SEED_SIZE = 16 * 1024    # corpus files up to this size are seeds
PREFIX = 132                 # preamble + "DICM": never mutated

ITEM = b"\xfe\xff\x00\xe0"
ITEM_END = b"\xfe\xff\x0d\xe0"
SEQUENCE_END = b"\xfe\xff\xdd\xe0"
UNDEFINED = 0xFFFFFFFF


# -- seeds ------------------------------------------------------------------------------
class Seed(NamedTuple):
    name: str
    data: bytes
    headers: Tuple[int, ...]     # offsets of element, item and delimiter headers
    spans: Tuple[Tuple[int, int], ...]   # (start, end) of item and fragment contents
    meta_length_at: Optional[int]        # offset of the group length value, if any
    meta: Tuple[Tuple[int, int], ...]    # (start, end) of each meta element


def seed_files(max_size: int = MAX_SEED_SIZE, corpus: Path = CORPUS,
               fixtures: Path = FIXTURES) -> List[Path]:
    """The fixtures and the corpus files up to ``max_size`` bytes that start
    with a preamble and "DICM" (sorted, so runs are reproducible)."""
    paths = sorted(fixtures.glob("*.dcm"))
    if corpus.is_dir():
        paths += sorted(p for p in corpus.rglob("*") if p.is_file()
                        and not p.name.endswith((".md", ".txt"))
                        and p.stat().st_size <= max_size)
    out = []
    for path in paths:
        with open(path, "rb") as fp:
            head = fp.read(PREFIX)
        if head[128:132] == b"DICM":
            out.append(path)
    return out


def analyse(name: str, data: bytes) -> Seed:
    """Where the headers are: the reader's events, as far as it gets."""
    headers: List[int] = []
    spans: List[Tuple[int, int]] = []
    meta: List[Tuple[int, int]] = []
    meta_length_at = None
    reader = P10Reader(chunk_threshold=1 << 30, total_size=len(data))
    in_meta = False
    inflated = False
    try:
        reader.feed(data)
        reader.close()
        for event in reader.events():
            kind = type(event).__name__
            offset = getattr(event, "offset", None)
            if kind == "FileMetaStart":
                in_meta = True
            elif kind == "DataSetStart":
                in_meta = False
                inflated = event.deflated
                headers.append(event.offset)
            if offset is None or kind in ("End", "DeflateInfo") or inflated:
                continue
            headers.append(offset)
            if kind == "Element":
                end = offset + (12 if event.vr in ("OB", "OW", "UN", "UT", "SQ", "UC", "UR")
                                else 8) + event.length
                if in_meta:
                    meta.append((offset, end))
                    if event.tag == 0x00020000:
                        meta_length_at = offset + 8
            elif kind in ("ItemStart", "Fragment") and event.length not in (None, UNDEFINED):
                spans.append((offset + 8, offset + 8 + event.length))
    except Dicom2IonError:
        pass
    headers = sorted({h for h in headers if PREFIX <= h < len(data)})
    if not headers:
        headers = [PREFIX] if len(data) > PREFIX else []
    return Seed(name, data, tuple(headers), tuple(spans), meta_length_at, tuple(meta))


def load_seeds(paths: Sequence[Path]) -> List[Seed]:
    return [analyse(p.name, p.read_bytes()) for p in paths]


# -- mutations ----------------------------------------------------------------------------
# Each takes (rng, seed, data, seeds) and returns new bytes; offsets stay >= PREFIX.

def _header(rng: random.Random, seed: Seed, data: bytes) -> int:
    offsets = [h for h in seed.headers if h < len(data)] or [min(PREFIX, len(data))]
    return rng.choice(offsets)


def _anywhere(rng: random.Random, data: bytes) -> int:
    return rng.randint(PREFIX, max(PREFIX, len(data)))


def _near_header(rng, seed, data) -> int:
    return min(len(data), _header(rng, seed, data) + rng.randint(0, 11))


def cut_in_header(rng, seed, data, seeds):
    return data[:max(PREFIX, min(len(data), _header(rng, seed, data) + rng.randint(1, 11)))]


def cut_anywhere(rng, seed, data, seeds):
    return data[:_anywhere(rng, data)]


def cut_in_item(rng, seed, data, seeds):
    spans = [s for s in seed.spans if s[0] < len(data)]
    if not spans:
        return cut_anywhere(rng, seed, data, seeds)
    start, end = rng.choice(spans)
    return data[:rng.randint(start, max(start, min(end, len(data)) - 1))]


def flip(rng, seed, data, seeds):
    out = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        at = _near_header(rng, seed, data) if rng.random() < 0.6 else _anywhere(rng, data)
        if at < len(out):
            out[at] ^= 1 << rng.randrange(8) if rng.random() < 0.5 else rng.randint(1, 255)
    return bytes(out)


def _bogus(rng, data: bytes, true_length: int) -> int:
    choice = rng.randrange(7)
    if choice == 0:
        return 0
    if choice == 1:
        return UNDEFINED
    if choice == 2:
        return true_length + rng.choice((-2, -1, 1, 2, 4, 8))
    if choice == 3:
        return len(data) * rng.randint(1, 1000)
    if choice == 4:
        return rng.randint(0, 0xFFFF)
    if choice == 5:
        return 0xFFFFFFFE - rng.randrange(16)
    return rng.getrandbits(32)


def bogus_length(rng, seed, data, seeds):
    at = _header(rng, seed, data)
    out = bytearray(data)
    form = rng.randrange(3)     # implicit / short explicit / long explicit
    where, size = ((at + 4, 4), (at + 6, 2), (at + 8, 4))[form]
    if where + size > len(out):
        return data
    old = struct.unpack_from("<L" if size == 4 else "<H", out, where)[0]
    value = _bogus(rng, data, old) & (0xFFFFFFFF if size == 4 else 0xFFFF)
    struct.pack_into("<L" if size == 4 else "<H", out, where, max(0, value))
    return bytes(out)


def insert_bytes(rng, seed, data, seeds):
    at = _near_header(rng, seed, data) if rng.random() < 0.5 else _anywhere(rng, data)
    n = rng.choice((1, 2, 3, 4, 8, rng.randint(1, 64)))
    junk = bytes(rng.getrandbits(8) for _ in range(n)) if rng.random() < 0.7 else bytes(n)
    return data[:at] + junk + data[at:]


def delete_bytes(rng, seed, data, seeds):
    at = _near_header(rng, seed, data) if rng.random() < 0.5 else _anywhere(rng, data)
    n = rng.choice((1, 2, 4, 8, rng.randint(1, 64)))
    return data[:at] + data[at + n:]


def paste_tag(rng, seed, data, seeds):
    tag = rng.choice((ITEM, ITEM_END, SEQUENCE_END))
    length = rng.choice((0, 0, UNDEFINED, rng.randint(1, 64), rng.getrandbits(32)))
    piece = tag + struct.pack("<L", length)
    at = _header(rng, seed, data) if rng.random() < 0.8 else _anywhere(rng, data)
    if rng.random() < 0.6:
        return data[:at] + piece + data[at:]
    return data[:at] + piece + data[at + 8:]


def splice(rng, seed, data, seeds):
    other = rng.choice(seeds)
    cut = _header(rng, seed, data)
    start = _header(rng, other, other.data)
    return data[:cut] + other.data[start:]


def meta_lie(rng, seed, data, seeds):
    """Make the meta group's length or its elements lie."""
    if seed.meta_length_at is not None and seed.meta_length_at + 4 <= len(data) \
            and rng.random() < 0.6:
        out = bytearray(data)
        old = struct.unpack_from("<L", out, seed.meta_length_at)[0]
        new = rng.choice((old + rng.choice((-12, -8, -4, -2, -1, 1, 2, 4, 8, 12, 100)),
                          0, rng.randint(0, 400), old * 2))
        struct.pack_into("<L", out, seed.meta_length_at, max(0, new) & 0xFFFFFFFF)
        return bytes(out)
    meta = [m for m in seed.meta if m[1] <= len(data)]
    if not meta:
        return flip(rng, seed, data, seeds)
    start, end = rng.choice(meta)
    action = rng.randrange(3)
    if action == 0:                   # an element missing
        return data[:start] + data[end:]
    if action == 1:                   # an element repeated
        return data[:end] + data[start:end] + data[end:]
    out = bytearray(data)             # its group number changed
    struct.pack_into("<H", out, start, rng.choice((0x0000, 0x0001, 0x0003, 0x0008, 0x0800)))
    return bytes(out)


def duplicate_range(rng, seed, data, seeds):
    a = _header(rng, seed, data)
    b = _header(rng, seed, data)
    a, b = min(a, b), max(a, b)
    if b - a > 4096:
        b = a + 4096
    at = _header(rng, seed, data)
    return data[:at] + data[a:b] + data[at:]


MUTATIONS: Dict[str, Callable] = {
    "cut-in-header": cut_in_header,
    "cut-anywhere": cut_anywhere,
    "cut-in-item": cut_in_item,
    "flip": flip,
    "bogus-length": bogus_length,
    "insert": insert_bytes,
    "delete": delete_bytes,
    "paste-tag": paste_tag,
    "splice": splice,
    "meta-lie": meta_lie,
    "duplicate": duplicate_range,
}
_NAMES = tuple(MUTATIONS)
# cuts and lengths weigh more: they are the commonest real damage
_WEIGHTS = (3, 2, 2, 3, 3, 2, 2, 2, 1, 2, 1)


def mutant(index: int, seed_value: int, seeds: Sequence[Seed]) -> Tuple[str, str, bytes]:
    """Mutant ``index`` of run ``seed_value``: (seed name, mutations, bytes).
    Depends only on its arguments, so any input can be remade alone."""
    rng = random.Random(f"{seed_value}:{index}")
    seed = seeds[rng.randrange(len(seeds))]
    data = seed.data
    names = []
    for _ in range(1 if rng.random() < 0.7 else rng.randint(2, 3)):
        name = rng.choices(_NAMES, _WEIGHTS)[0]
        names.append(name)
        data = MUTATIONS[name](rng, seed, data, seeds)
    if len(data) < PREFIX:
        data = seed.data[:PREFIX]
    return seed.name, "+".join(names), data


# -- the check ----------------------------------------------------------------------------
class Outcome(NamedTuple):
    kind: str           # one of CLASSES
    detail: str
    seconds: float
    size: int
    peak: Optional[int] = None    # tracemalloc peak bytes, when traced


class _Hang(Exception):
    pass


def _on_alarm(signum, frame):
    raise _Hang()


def time_limit(size: int, floor: float = TIME_FLOOR) -> float:
    return max(floor, SECONDS_PER_MB * size / 1e6)


def _first_difference(a: bytes, b: bytes) -> int:
    n = min(len(a), len(b))
    lo, hi = 0, n
    while lo < hi:              # binary search on equal prefixes (no byte loop)
        mid = (lo + hi) // 2
        if a[lo:mid + 1] == b[lo:mid + 1]:
            lo = mid + 1
        else:
            hi = mid
    return lo


def round_trip(path: str) -> Tuple[str, str]:
    """(class, detail) of one file, without the timing."""
    with open(path, "rb") as fp:
        original = fp.read()
    try:
        doc = convert(path)
    except Dicom2IonError as exc:
        return "refused", str(exc)
    try:
        loaded = codec.loads(codec.dumps(doc, binary=True))
        rebuilt = to_dicom_bytes(loaded, source=path, check=False)
    except Dicom2IonError as exc:
        return "DIFFERENT", f"accepted, but to-dicom fails: {exc}"
    if rebuilt == original:
        return "exact", ""
    at = _first_difference(original, rebuilt)
    return "DIFFERENT", (f"rebuilt {len(rebuilt)} bytes for {len(original)}, first difference "
                         f"at offset {at}")


def check_file(path: str, *, floor: float = TIME_FLOOR, hang_after: float = HANG_AFTER,
               trace_memory: bool = False) -> Outcome:
    """Classify one file (see the module docstring); never raises."""
    size = os.path.getsize(path)
    limit = time_limit(size, floor)
    use_alarm = hasattr(signal, "setitimer") and \
        threading.current_thread() is threading.main_thread()
    if use_alarm:
        previous = signal.signal(signal.SIGALRM, _on_alarm)
        signal.setitimer(signal.ITIMER_REAL, max(hang_after, limit * 10))
    if trace_memory:
        import tracemalloc
        tracemalloc.start()
    start = time.perf_counter()
    peak = None
    try:
        kind, detail = round_trip(path)
    except _Hang:
        kind, detail = "slow", f"hang: stopped after {time.perf_counter() - start:.1f} s"
    except MemoryError:
        kind, detail = "crash", "MemoryError"
    except Exception as exc:  # noqa: BLE001 - a crash is what we are looking for
        tb = traceback.extract_tb(exc.__traceback__)[-1]
        kind, detail = "crash", (f"{type(exc).__name__}: {exc} "
                                 f"({Path(tb.filename).name}:{tb.lineno})")
    finally:
        if use_alarm:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
        seconds = time.perf_counter() - start
        if trace_memory:
            import tracemalloc
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
    if kind in ("exact", "refused") and seconds > limit and not trace_memory:
        # (tracing slows the run several times over: a traced input is not timed)
        detail = f"{seconds:.3f} s for {size} bytes (limit {limit:.3f} s); outcome {kind}"
        kind = "slow"
    return Outcome(kind, detail, seconds, size, peak)


# -- the mutation run ---------------------------------------------------------------------
_worker: dict = {}


def _init_worker(seed_paths, seed_value, floor, trace_every, scratch):
    _worker["seeds"] = load_seeds([Path(p) for p in seed_paths])
    _worker["seed"] = seed_value
    _worker["floor"] = floor
    _worker["trace"] = trace_every
    fd, name = tempfile.mkstemp(prefix="fuzz-", suffix=".dcm", dir=scratch)
    os.close(fd)
    _worker["path"] = name
    # a forked worker starts with its parent's pages (a test runner's can be
    # large): what counts is how far it grows above that
    _worker["rss0"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _run_index(index: int):
    seed_name, how, data = mutant(index, _worker["seed"], _worker["seeds"])
    path = _worker["path"]
    with open(path, "wb") as fp:
        fp.write(data)
    every = _worker["trace"]
    outcome = check_file(path, floor=_worker["floor"],
                         trace_memory=bool(every) and index % every == 0)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - _worker["rss0"]
    keep = data if outcome.kind not in ("exact", "refused") else None
    return index, seed_name, how, outcome, rss, os.getpid(), keep


class Report(NamedTuple):
    counts: Dict[str, int]
    total: int
    seconds: float
    peak_rss: int               # the largest growth of a worker's peak RSS, bytes
    peak_traced: Optional[int]  # the largest per-input tracemalloc peak, bytes
    worst_seconds_per_mb: float
    offenders: List[dict]
    by_mutation: Dict[str, Dict[str, int]]

    def as_dict(self) -> dict:
        d = self._asdict()
        d["percent"] = {k: 100.0 * v / self.total if self.total else 0.0
                        for k, v in self.counts.items()}
        return d


def mutation_run(count: int, seed_value: int = 1, *, jobs: int = 2,
                 seed_paths: Optional[Sequence[Path]] = None, out: Optional[Path] = None,
                 floor: float = TIME_FLOOR, trace_every: int = 0,
                 progress: bool = False, scratch: Optional[str] = None) -> Report:
    """Run ``count`` mutants through the check on ``jobs`` processes; every
    ``trace_every``-th input (none when 0) is traced with tracemalloc."""
    paths = [str(p) for p in (seed_paths if seed_paths is not None else seed_files())]
    if not paths:
        raise SystemExit("no seed files found")
    if scratch is None and os.path.isdir("/dev/shm"):
        scratch = "/dev/shm"
    counts = Counter({k: 0 for k in CLASSES})
    by_mutation: Dict[str, Counter] = {}
    offenders: List[dict] = []
    peak_rss: Dict[int, int] = {}
    peak_traced = None
    worst = 0.0
    start = time.perf_counter()
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
    ctx = multiprocessing.get_context("fork" if sys.platform != "win32" else "spawn")
    with ctx.Pool(jobs, _init_worker, (paths, seed_value, floor, trace_every, scratch)) as pool:
        done = 0
        for index, seed_name, how, outcome, rss, pid, data in pool.imap_unordered(
                _run_index, range(count), chunksize=64):
            done += 1
            counts[outcome.kind] += 1
            by_mutation.setdefault(how.split("+")[0], Counter())[outcome.kind] += 1
            peak_rss[pid] = max(peak_rss.get(pid, 0), rss)
            if outcome.peak is not None:
                peak_traced = max(peak_traced or 0, outcome.peak)
            if outcome.size:
                worst = max(worst, outcome.seconds / max(outcome.size / 1e6, 1e-9))
            if data is not None:
                record = {"index": index, "class": outcome.kind, "seed": seed_name,
                          "mutation": how, "size": outcome.size, "detail": outcome.detail}
                if out is not None:
                    name = f"{outcome.kind.lower()}-{index:06d}-{how}.dcm"
                    (out / name).write_bytes(data)
                    record["file"] = str(out / name)
                offenders.append(record)
            if progress and done % 2000 == 0:
                print(f"  {done}/{count} ...", file=sys.stderr)
    offenders.sort(key=lambda r: r["index"])
    return Report(dict(counts), count, time.perf_counter() - start, max(peak_rss.values()),
                  peak_traced, worst, offenders,
                  {k: dict(v) for k, v in sorted(by_mutation.items())})


def print_report(report: Report, seed_value: int, out=sys.stdout) -> None:
    total = report.total
    print(f"{total} inputs, seed {seed_value}, {report.seconds:.1f} s "
          f"({total / max(report.seconds, 1e-9):.0f} inputs/s)", file=out)
    for kind in CLASSES:
        n = report.counts.get(kind, 0)
        print(f"  {kind:<10} {n:>7}  {100.0 * n / total if total else 0:6.2f} %", file=out)
    print(f"  peak RSS growth of a worker: {report.peak_rss / 2**20:.1f} MiB", file=out)
    if report.peak_traced is not None:
        print(f"  peak traced allocation of one input: {report.peak_traced / 2**20:.2f} MiB",
              file=out)
    print("  by first mutation (exact/refused/DIFFERENT/crash/slow):", file=out)
    for name, c in report.by_mutation.items():
        print(f"    {name:<14} " + " / ".join(str(c.get(k, 0)) for k in CLASSES), file=out)
    for record in report.offenders[:20]:
        print(f"  {record['class']} #{record['index']} {record['seed']} {record['mutation']}: "
              f"{record['detail']}", file=out)
    if len(report.offenders) > 20:
        print(f"  ... {len(report.offenders) - 20} more", file=out)


# -- atheris ------------------------------------------------------------------------------
def atheris_main(argv: List[str]) -> None:
    try:
        import atheris
    except ImportError:
        raise SystemExit("atheris is not installed: pip install -e '.[fuzz]'") from None
    import atexit
    import shutil
    fd, scratch = tempfile.mkstemp(prefix="fuzz-atheris-", suffix=".dcm")
    os.close(fd)
    corpus_dir = tempfile.mkdtemp(prefix="fuzz-seeds-")
    atexit.register(shutil.rmtree, corpus_dir, True)
    atexit.register(os.unlink, scratch)
    for path in seed_files():
        Path(corpus_dir, path.name).write_bytes(path.read_bytes())

    def one_input(data: bytes) -> None:
        with open(scratch, "wb") as fp:
            fp.write(data)
        kind, detail = round_trip(scratch)    # any other exception is a crash
        if kind == "DIFFERENT":
            raise AssertionError(f"accepted but rebuilt differently: {detail}")

    args = [sys.argv[0], *argv]
    if not any(not a.startswith("-") for a in argv):
        args.append(corpus_dir)
    atheris.Setup(args, one_input)
    atheris.Fuzz()


# -- command line -------------------------------------------------------------------------
def main(argv: Optional[List[str]] = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "atheris":
        atheris_main(argv[1:])
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="mode", required=True)
    m = sub.add_parser("mutate", help="deterministic mutation run")
    m.add_argument("-n", "--count", type=int, default=20000)
    m.add_argument("--seed", type=int, default=1)
    m.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    m.add_argument("--out", type=Path, help="folder for the offending inputs")
    m.add_argument("--json", type=Path, help="write the report as JSON")
    m.add_argument("--max-seed-size", type=int, default=MAX_SEED_SIZE)
    m.add_argument("--floor", type=float, default=TIME_FLOOR,
                   help="seconds any input may take, however small")
    m.add_argument("--trace-every", type=int, default=50, metavar="N",
                   help="measure the peak allocation of every N-th input with tracemalloc "
                        "(0: none; traced inputs are not timed)")
    r = sub.add_parser("repro", help="check files, print the outcome")
    r.add_argument("files", nargs="+", type=Path)
    h = sub.add_parser("hostile", help="hostile-input generators (tools/hostile.py)")
    h.add_argument("--scale", choices=("small", "large"), default="small")
    h.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    if args.mode == "hostile":
        sys.path.insert(0, str(ROOT / "tools"))
        import hostile
        return hostile.main(["--scale", args.scale]
                            + (["--json", str(args.json)] if args.json else []))
    if args.mode == "repro":
        bad = 0
        for path in args.files:
            try:
                kind, detail = round_trip(str(path))
            except Exception:  # noqa: BLE001
                kind, detail = "crash", traceback.format_exc()
            bad += kind in ("DIFFERENT", "crash")
            print(f"{kind:<10} {path}" + (f"\n    {detail}" if detail else ""))
        return 1 if bad else 0
    report = mutation_run(args.count, args.seed, jobs=args.jobs,
                          seed_paths=seed_files(args.max_seed_size), out=args.out,
                          floor=args.floor, trace_every=args.trace_every, progress=True)
    print_report(report, args.seed)
    if args.json:
        args.json.write_text(json.dumps(report.as_dict(), indent=2))
    return 1 if report.counts["DIFFERENT"] or report.counts["crash"] else 0


if __name__ == "__main__":
    sys.exit(main())
