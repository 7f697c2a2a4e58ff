"""Running one job over many files: folder walking, DICOM sniffing,
parallel workers, a progress bar and a summary."""

from __future__ import annotations

import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from typing import Callable, Iterable, Iterator, List, NamedTuple, Optional, Tuple

_VR_CODES = {
    b"AE", b"AS", b"AT", b"CS", b"DA", b"DS", b"DT", b"FL", b"FD", b"IS", b"LO", b"LT", b"OB",
    b"OD", b"OF", b"OL", b"OV", b"OW", b"PN", b"SH", b"SL", b"SQ", b"SS", b"ST", b"SV", b"TM",
    b"UC", b"UI", b"UL", b"UN", b"UR", b"US", b"UT", b"UV",
}


def looks_like_dicom(head: bytes) -> bool:
    """Whether the first bytes of a file look like DICOM: a "DICM" prefix, or
    a first element of a plausible group with a valid VR or a sane length."""
    if head[128:132] == b"DICM":
        return True
    if len(head) < 8:
        return False
    for order in ("little", "big"):
        group = int.from_bytes(head[0:2], order)
        if group in (0x0002, 0x0004, 0x0008) and (
                head[4:6] in _VR_CODES or int.from_bytes(head[4:8], "little") < (1 << 24)):
            return True
    return False


def sniff(path: str) -> bool:
    try:
        with open(path, "rb") as fp:
            return looks_like_dicom(fp.read(132))
    except OSError:
        return False


class Task(NamedTuple):
    path: str       # the input file
    relative: str   # its path relative to the root it was found under
    root: Optional[str]


def walk(paths: Iterable[str]) -> Iterator[Task]:
    """Files named directly, and every file under named folders (sorted)."""
    for path in paths:
        path = os.fspath(path)
        if os.path.isdir(path):
            for folder, dirs, files in os.walk(path):
                dirs.sort()
                for name in sorted(files):
                    full = os.path.join(folder, name)
                    yield Task(full, os.path.relpath(full, path), path)
        else:
            yield Task(path, os.path.basename(path), None)


class Result(NamedTuple):
    path: str
    status: str         # converted / identical / different / skipped / failed
    size: int
    message: str = ""
    detail: object = None


def run(tasks: List[Task], work: Callable[[Task], Result], *, jobs: int = 1,
        progress: bool = True, label: str = "files") -> Tuple[List[Result], float]:
    """Run ``work`` over tasks (in ``jobs`` processes), with a progress bar
    showing files/s and MB/s. Returns the results in task order and the time."""
    start = time.perf_counter()
    total_bytes = 0
    for task in tasks:
        try:
            total_bytes += os.path.getsize(task.path)
        except OSError:
            pass
    bar = None
    if progress and sys.stderr.isatty() or progress == "always":
        from tqdm import tqdm

        bar = tqdm(total=total_bytes, unit="B", unit_scale=True, unit_divisor=1 << 20,
                   desc=label, file=sys.stderr, dynamic_ncols=True)
    results: List[Result] = []
    done = 0

    def advance(result: Result) -> None:
        nonlocal done
        done += 1
        if bar is not None:
            bar.update(result.size)
            elapsed = max(time.perf_counter() - start, 1e-9)
            bar.set_postfix_str(f"{done}/{len(tasks)} files, {done / elapsed:.1f} files/s")

    if jobs > 1 and len(tasks) > 1:
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            for result in pool.map(work, tasks, chunksize=max(1, min(16, len(tasks) // (jobs * 8) or 1))):
                results.append(result)
                advance(result)
    else:
        for task in tasks:
            result = work(task)
            results.append(result)
            advance(result)
    if bar is not None:
        bar.close()
    return results, time.perf_counter() - start


def summary(results: List[Result], seconds: float, statuses: Iterable[str]) -> str:
    """One block of text: counts per status, bytes, time and rates."""
    counts = {s: 0 for s in statuses}
    size = 0
    for r in results:
        counts[r.status] = counts.get(r.status, 0) + 1
        size += r.size
    mb = size / (1 << 20)
    rate = f"{len(results) / seconds:.1f} files/s, {mb / seconds:.1f} MB/s" if seconds > 0 else ""
    parts = ", ".join(f"{n} {s}" for s, n in counts.items())
    return f"{parts}; {len(results)} files, {mb:.1f} MB in {seconds:.2f} s ({rate})"
