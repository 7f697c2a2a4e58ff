"""Speed of dicom2ion next to references, in the same run, on the same files.

    python tools/benchmark.py                      # the whole corpus, best of 3
    python tools/benchmark.py some.dcm folder/ --repeat 5 --json out.json
    python tools/benchmark.py --only convert,pydicom --no-e2e
    python tools/benchmark.py --profile convert    # cProfile, top 25 functions
    python tools/benchmark.py --profile cli        # cProfile of the CLI in process
    python tools/benchmark.py --big                # also a 3 GB file, bounded memory

In-process stages (each reads its file from disk every time, the page cache
being warm after the preflight pass):

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
    pydicom-json the reference of issue 15: pydicom.dcmread(path, force=True)
                 + to_json_dict(bulk_data_threshold=256,
                 bulk_data_element_handler=...) (values over 256 bytes become
                 a BulkDataURI, as dicom2ion references them)
    ion-load     codec.loads of the file's binary Ion (bytes in memory)
    json-load    json.loads of pydicom's DICOM JSON of the same file (text in
                 memory): with ion-load, "why Ion" in numbers
    load-to-dicom  codec.loads of the binary Ion + to_dicom_bytes

A preflight pass runs every stage once on every file; a file that fails any
stage (DicomParseError for dicom2ion, anything pydicom raises) is listed and
left out of every column, so all columns cover the same files. Each stage's
time is the best of ``--repeat`` passes over all the files (the passes of
the stages alternate, round by round); files/s and MB/s
(10^6 bytes of input) follow from it, and "vs" columns are that time divided
by the reference's time (2.0x = twice as slow).

End to end (unless ``--no-e2e``), on copies of the same usable files in a
temporary folder (``--copies N`` repeats them N times), each a child process
timed from its start to its exit, best of ``--repeat``:

    cli-convert   dicom2ion convert IN -o OUT --jobs 1 -q (every .ion written),
                  against pydicom-json over the same files (in process, its
                  best pass times the copies: no start-up or writing counted)
    small         the same command on files under 4 KB, copied until there
                  are ``--small-count`` of them: files/s; beside it the floor,
                  creating as many output files of the same sizes (temporary
                  name, write, rename) without converting anything
    verify        dicom2ion verify IN --jobs 1 -q, against cli-convert
    to-dicom      dicom2ion to-dicom OUT -o REBUILT --jobs 1 -q on the .ion
                  files cli-convert wrote, against cli-convert
    scaling       the three with --jobs 2 against --jobs 1; beside them the
                  ceiling, convert + binary dump of the same files in process
                  in one process against two forked ones (no CLI)
    large         a generated file of ``--large-size`` bytes
                  (tools/make_big_file.py): convert_to and to_dicom in
                  process, against sha256 computed twice over the file
    memory        peak RSS of child processes: convert --inline-all of a
                  ``--memory-size`` file, and dicom2ion.load of its Ion,
                  less the interpreter's own (a bare import), per byte of
                  input; ``--big`` adds the bounded paths on a 3 GB file

The goals of issue 15 are checked at the end ("goals" in the JSON).
"""

from __future__ import annotations

import argparse
import cProfile
import datetime
import gc
import hashlib
import io
import json
import os
import platform
import pstats
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Callable, Dict, List, Optional, Tuple

ROOT = Path(__file__).resolve().parent.parent
TOOLS = Path(__file__).resolve().parent
DEFAULT_CORPUS = Path(os.environ.get("DICOM2ION_CORPUS", ROOT.parent / "shared" / "corpus"))

sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(TOOLS))

import pydicom  # noqa: E402
from amazon.ion import simpleion  # noqa: E402

import dicom2ion  # noqa: E402
from dicom2ion.ion import codec  # noqa: E402
from dicom2ion.p10.source import iter_events  # noqa: E402
import make_big_file  # noqa: E402

STAGES = ("sha256", "pydicom", "read", "convert", "dump-binary", "dump-text", "to-dicom",
          "pydicom-json", "ion-load", "json-load", "load-to-dicom")
LABELS = {
    "sha256": "sha256 (floor)",
    "pydicom": "pydicom read+walk",
    "read": "dicom2ion read",
    "convert": "dicom2ion convert",
    "dump-binary": "convert+dump binary",
    "dump-text": "convert+dump text",
    "to-dicom": "dicom2ion to-dicom",
    "pydicom-json": "pydicom dcmread+to_json_dict",
    "ion-load": "load binary Ion",
    "json-load": "json.loads of DICOM JSON",
    "load-to-dicom": "load Ion + to-dicom",
}
COLUMNS = ("stage", "seconds", "files/s", "MB/s", "vs pydicom", "vs sha256")
PROFILES = STAGES + ("cli",)
SMALL = 4096                  # "small files" are under this many bytes
BULK_THRESHOLD = 256          # pydicom's bulk_data_threshold, dicom2ion's inline limit


# -- the stages ------------------------------------------------------------------

def _sha256(path: str, data: dict) -> None:
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


def _pydicom(path: str, data: dict) -> None:
    ds = pydicom.dcmread(path, force=True)
    meta = getattr(ds, "file_meta", None)
    if meta is not None:
        _walk(meta)
    _walk(ds)


def _bulk_uri(elem) -> str:
    return f"bulk:{elem.tag:08X}"


def _json_dict(path: str) -> dict:
    ds = pydicom.dcmread(path, force=True)
    return ds.to_json_dict(bulk_data_threshold=BULK_THRESHOLD,
                           bulk_data_element_handler=_bulk_uri)


def _pydicom_json(path: str, data: dict) -> None:
    _json_dict(path)


def _read(path: str, data: dict) -> None:
    list(iter_events(path))


def _convert(path: str, data: dict) -> None:
    dicom2ion.convert(path)


def _dump_binary(path: str, data: dict) -> None:
    codec.dumps(dicom2ion.convert(path), binary=True)


def _dump_text(path: str, data: dict) -> None:
    codec.dumps(dicom2ion.convert(path), binary=False)


def _to_dicom(path: str, data: dict) -> None:
    dicom2ion.to_dicom_bytes(data["docs"][path])


def _ion_load(path: str, data: dict) -> None:
    codec.loads(data["ion"][path])


def _json_load(path: str, data: dict) -> None:
    json.loads(data["json"][path])


def _load_to_dicom(path: str, data: dict) -> None:
    dicom2ion.to_dicom_bytes(codec.loads(data["ion"][path]))


RUNNERS: Dict[str, Callable[[str, dict], None]] = {
    "sha256": _sha256, "pydicom": _pydicom, "read": _read, "convert": _convert,
    "dump-binary": _dump_binary, "dump-text": _dump_text, "to-dicom": _to_dicom,
    "pydicom-json": _pydicom_json, "ion-load": _ion_load, "json-load": _json_load,
    "load-to-dicom": _load_to_dicom,
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


def preflight(files: List[str]) -> Tuple[List[str], Dict[str, str], dict]:
    """Run every stage once per file. Returns (usable files, excluded
    {path: reason}, the stages' inputs: loaded binary-Ion documents, the
    binary Ion and pydicom's DICOM JSON text of each file)."""
    good, excluded = [], {}
    data: dict = {"docs": {}, "ion": {}, "json": {}}
    for path in files:
        try:
            ion = codec.dumps(dicom2ion.convert(path), binary=True)
            data["ion"][path] = ion
            data["docs"][path] = codec.loads(ion)
        except Exception as exc:
            excluded[path] = f"dicom2ion convert: {type(exc).__name__}: {exc}"
            data["ion"].pop(path, None)
            continue
        try:
            data["json"][path] = json.dumps(_json_dict(path))
        except Exception as exc:
            excluded[path] = f"pydicom-json: {type(exc).__name__}: {exc}"
        else:
            for stage in STAGES:
                try:
                    RUNNERS[stage](path, data)
                except Exception as exc:
                    excluded[path] = f"{stage}: {type(exc).__name__}: {exc}"
                    break
            else:
                good.append(path)
                continue
        for table in data.values():
            table.pop(path, None)
    return good, excluded, data


# -- timing ----------------------------------------------------------------------

def time_pass(stage: str, files: List[str], data: dict, per_file: Dict[str, float],
              cpu_times: List[float]) -> float:
    """One pass of ``stage`` over ``files``: its total; keeps each file's best
    and appends the pass's CPU time to ``cpu_times``."""
    run = RUNNERS[stage]
    clock = time.perf_counter
    gc.collect()
    cpu = time.process_time()
    start = clock()
    for path in files:
        t0 = clock()
        run(path, data)
        t = clock() - t0
        if t < per_file.get(path, float("inf")):
            per_file[path] = t
    seconds = clock() - start
    cpu_times.append(time.process_time() - cpu)
    return seconds


def time_stages(stages: List[str], files: List[str], data: dict, repeat: int) -> Dict[str, dict]:
    """``repeat`` rounds, each a pass of every stage in turn (so a burst of
    load elsewhere on the machine hits the stages alike); per stage the best
    total, every total, and each file's best time."""
    results = {stage: {"runs": [], "cpu_runs": [], "per_file": {}} for stage in stages}
    for _ in range(repeat):
        for stage in stages:
            r = results[stage]
            r["runs"].append(time_pass(stage, files, data, r["per_file"], r["cpu_runs"]))
    for r in results.values():
        r["seconds"] = min(r["runs"])
        r["cpu_seconds"] = min(r["cpu_runs"])
    return results


def profile_stage(stage: str, files: List[str], data: dict, *, sort: str, lines: int,
                  out=None) -> None:
    profiler = cProfile.Profile()
    if stage == "cli":
        from dicom2ion import cli

        with tempfile.TemporaryDirectory(prefix="dicom2ion-bench-") as work:
            folder = stage_folder(files, os.path.join(work, "in"), 1)
            gc.collect()
            profiler.enable()
            cli.main(["convert", folder, "-o", os.path.join(work, "out"), "--jobs", "1", "-q"])
            profiler.disable()
    else:
        run = RUNNERS[stage]
        gc.collect()
        profiler.enable()
        for path in files:
            run(path, data)
        profiler.disable()
    stats = pstats.Stats(profiler, stream=out or sys.stdout)
    stats.strip_dirs().sort_stats(sort).print_stats(lines)


# -- end to end: child processes ---------------------------------------------------

CLI = [sys.executable, "-m", "dicom2ion"]
LOAD_SCRIPT = "import sys, dicom2ion\ndicom2ion.load(sys.argv[1])\n"


_PYCACHE: List[str] = []     # the children's bytecode folder, made once per run


def _child_env() -> dict:
    """The children's environment: the package from this checkout, run from
    bytecode as an installed package is (pip compiles it on install). A
    PYTHONDONTWRITEBYTECODE in the environment would make every child
    compile the whole package again (about 100 ms of start-up), so it is
    lifted and the bytecode goes to a temporary PYTHONPYCACHEPREFIX, not
    into the checkout."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    if not _PYCACHE:
        folder = tempfile.mkdtemp(prefix="dicom2ion-bench-pyc-")
        import atexit
        atexit.register(shutil.rmtree, folder, True)
        _PYCACHE.append(folder)
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = folder
        subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "dicom2ion")],
                       env=env, check=True, stdout=subprocess.DEVNULL)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = _PYCACHE[0]
    return env


def start_child(argv: List[str], work: str):
    out = tempfile.TemporaryFile(dir=work)
    err = tempfile.TemporaryFile(dir=work)
    proc = subprocess.Popen(argv, stdout=out, stderr=err, env=_child_env())
    return proc, out, err, time.perf_counter()


def finish_child(started) -> dict:
    """Wait for a child: wall seconds from its start, CPU seconds (user +
    system) and exit status (its ru_maxrss is no measure of its memory: see
    make_big_file.PEAK_WRAPPER)."""
    proc, out, err, start = started
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    texts = []
    for fp in (out, err):
        fp.seek(0)
        texts.append(fp.read().decode("utf-8", "replace")[-2000:])
        fp.close()
    return {"seconds": seconds, "cpu_seconds": usage.ru_utime + usage.ru_stime,
            "exit": proc.returncode, "stdout": texts[0], "stderr": texts[1]}


def best_of(repeat: int, make: Callable[[], dict], before: Optional[Callable] = None) -> dict:
    runs = []
    cpu_runs = []
    best = None
    for _ in range(repeat):
        if before is not None:
            before()
        r = make()
        runs.append(r["seconds"])
        cpu_runs.append(r["cpu_seconds"])
        if r["exit"] not in (0, 1) or (best is not None and r["seconds"] >= best["seconds"]):
            if r["exit"] not in (0, 1):
                raise RuntimeError(f"benchmark child failed: {r['stderr']}")
            continue
        best = r
    best = dict(best)
    best["runs"] = runs
    best["cpu_runs"] = cpu_runs
    best["best_cpu_seconds"] = min(cpu_runs)
    best.pop("stdout", None)
    return best


def stage_folder(files: List[str], folder: str, copies: int) -> str:
    """Copy ``files`` ``copies`` times into ``folder`` (c0/, c1/, ...)."""
    for c in range(copies):
        sub = os.path.join(folder, f"c{c}")
        os.makedirs(sub, exist_ok=True)
        for i, path in enumerate(files):
            shutil.copyfile(path, os.path.join(sub, f"{i:05d}_{os.path.basename(path)}"))
    return folder


def _inputs(folder: str) -> List[str]:
    return sorted(str(p) for p in Path(folder).rglob("*") if p.is_file())


def _clear(folder: str) -> Callable[[], None]:
    return lambda: shutil.rmtree(folder, ignore_errors=True)


def create_floor(sizes: List[int], folder: str, repeat: int) -> dict:
    """The machine's own cost of the small-file stage's outputs: as many
    files, of the same sizes, each created under a temporary name, written
    and renamed (what every atomic output does), in a new folder; best of
    ``repeat``. On some disks creating a file costs more than converting it."""
    best = float("inf")
    for _ in range(repeat):
        shutil.rmtree(folder, ignore_errors=True)
        os.makedirs(folder)
        blobs = {size: b"\0" * size for size in set(sizes)}
        start = time.perf_counter()
        for i, size in enumerate(sizes):
            tmp = os.path.join(folder, f".{i}.part")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            os.write(fd, blobs[size])
            os.close(fd)
            os.replace(tmp, os.path.join(folder, f"{i}.ion"))
        best = min(best, time.perf_counter() - start)
    shutil.rmtree(folder, ignore_errors=True)
    return {"files": len(sizes), "seconds": best, "files_per_s": len(sizes) / best}


def _convert_all(paths: List[str]) -> None:
    for path in paths:
        codec.dumps(dicom2ion.convert(path))


def work_scaling(paths: List[str], repeat: int) -> dict:
    """The conversion work itself (convert + binary dump, in process, no
    CLI) in one process against the same files split over two forked
    processes, best of ``repeat`` each: what two cores of this machine give
    this work, the ceiling of the CLI's ``--jobs 2``."""
    from benchmark_engines import forked_scaling

    _convert_all(paths[:20])                  # warm: lazy imports, caches
    return forked_scaling(_convert_all, [(paths[0::2],), (paths[1::2],)], repeat)


def end_to_end(files: List[str], work: str, *, repeat: int, copies: int,
               small_count: int) -> dict:
    """The CLI stages on copies of ``files`` (see the module doc)."""
    folder = stage_folder(files, os.path.join(work, "in"), copies)
    out = os.path.join(work, "out")
    rebuilt = os.path.join(work, "rebuilt")
    res: dict = {"files": len(files) * copies, "copies": copies,
                 "bytes": sum(os.path.getsize(p) for p in files) * copies}

    def convert(jobs):
        return best_of(repeat, lambda: finish_child(start_child(
            CLI + ["convert", folder, "-o", out, "--jobs", str(jobs), "-q"], work)),
            _clear(out))

    def verify(jobs):
        return best_of(repeat, lambda: finish_child(start_child(
            CLI + ["verify", folder, "--jobs", str(jobs), "-q"], work)))

    res["convert"] = convert(1)
    res["convert_2"] = convert(2)
    res["convert"]["outputs"] = len([p for p in Path(out).rglob("*.ion")])

    def to_dicom(jobs):
        return best_of(repeat, lambda: finish_child(start_child(
            CLI + ["to-dicom", out, "-o", rebuilt, "--jobs", str(jobs), "-q"], work)),
            _clear(rebuilt))

    res["to_dicom"] = to_dicom(1)
    res["to_dicom_2"] = to_dicom(2)
    res["to_dicom"]["outputs"] = len([p for p in Path(rebuilt).rglob("*")
                                      if p.is_file() and "manifest" not in str(p)])
    res["verify"] = verify(1)
    res["verify_2"] = verify(2)

    small = [p for p in files if os.path.getsize(p) < SMALL]
    if small and small_count:
        small_folder = os.path.join(work, "small")
        stage_folder(small, small_folder, -(-small_count // len(small)))
        small_out = os.path.join(work, "small-out")
        count = len(_inputs(small_folder))
        r = best_of(repeat, lambda: finish_child(start_child(
            CLI + ["convert", small_folder, "-o", small_out, "--jobs", "1", "-q"], work)),
            _clear(small_out))
        r.update(files=count, distinct=len(small),
                 bytes=sum(os.path.getsize(p) for p in _inputs(small_folder)),
                 files_per_s=count / r["seconds"])
        # (best_of clears the outputs before each pass: the last pass's are here)
        sizes = [os.path.getsize(p) for p in Path(small_out).rglob("*.ion")]
        shutil.rmtree(small_out, ignore_errors=True)
        if sizes:
            r["create_floor"] = create_floor(sizes, os.path.join(work, "floor"), repeat)
        res["small"] = r
    res["work_scaling"] = work_scaling(_inputs(folder), repeat)
    return res


def sha256_seconds(path: str) -> float:
    start = time.perf_counter()
    digest = hashlib.sha256()
    with open(path, "rb") as fp:
        for chunk in iter(lambda: fp.read(1 << 20), b""):
            digest.update(chunk)
    return time.perf_counter() - start


def large_file(work: str, size: int, repeat: int) -> dict:
    """convert_to / to_dicom of one big file in process, against sha256 twice."""
    path = os.path.join(work, "large.dcm")
    info = make_big_file.write_big_file(path, size, seed=5)
    ion = os.path.join(work, "large.ion")
    back = os.path.join(work, "large.back.dcm")
    res = {"size": info["size"], "sha256_twice": [], "convert": [], "to_dicom": []}
    for _ in range(repeat):
        res["sha256_twice"].append(sha256_seconds(path) + sha256_seconds(path))
        gc.collect()
        t0 = time.perf_counter()
        dicom2ion.convert_to(path, ion)
        res["convert"].append(time.perf_counter() - t0)
        gc.collect()
        t0 = time.perf_counter()
        result = dicom2ion.to_dicom(ion, back)
        res["to_dicom"].append(time.perf_counter() - t0)
        if not result["identical"]:
            raise RuntimeError("benchmark: the large file did not rebuild identically")
    for key in ("sha256_twice", "convert", "to_dicom"):
        res[key] = min(res[key])
    for name in (path, ion, back):
        os.unlink(name)
    return res


def memory(work: str, size: int) -> dict:
    """Peak RSS of convert --inline-all and of load(), less the interpreter's."""
    path = os.path.join(work, "memory.dcm")
    make_big_file.write_big_file(path, size, seed=6)
    size = os.path.getsize(path)
    ion = os.path.join(work, "memory.ion")
    run = make_big_file.run_child           # each child reports its own peak (VmHWM)
    base_cli = run([sys.executable, "-c", "import dicom2ion.cli"])
    base = run([sys.executable, "-c", "import dicom2ion"])
    conv = run(CLI + ["convert", path, "-o", ion, "--inline-all", "-q"])
    if conv["exit"] != 0:
        raise RuntimeError(f"benchmark: convert --inline-all failed: {conv['stderr']}")
    ion_size = os.path.getsize(ion)
    load = run([sys.executable, "-c", LOAD_SCRIPT, ion])
    if load["exit"] != 0:
        raise RuntimeError(f"benchmark: load failed: {load['stderr']}")
    for name in (path, ion):
        os.unlink(name)
    mib = 1 << 20
    return {
        "file_size": size, "ion_size": ion_size,
        "interpreter_cli_mib": base_cli["peak_rss_mib"],
        "interpreter_mib": base["peak_rss_mib"],
        "inline_all_peak_mib": conv["peak_rss_mib"],
        "inline_all_seconds": conv["seconds"],
        "inline_all_per_file_byte": (conv["peak_rss_mib"] - base_cli["peak_rss_mib"]) * mib / size,
        "load_peak_mib": load["peak_rss_mib"],
        "load_seconds": load["seconds"],
        "load_per_ion_byte": (load["peak_rss_mib"] - base["peak_rss_mib"]) * mib / ion_size,
    }


def big_file(work: str, size: int) -> dict:
    """make_big_file's measurement (convert and to-dicom peak RSS) on a big file."""
    path = os.path.join(work, "big.dcm")
    make_big_file.write_big_file(path, size, seed=7)
    try:
        res = make_big_file.measure(path, workdir=work)
    finally:
        os.unlink(path)
    return {"size": res["size"], "identical": res.get("identical"),
            "baseline_mib": res["baseline"]["peak_rss_mib"],
            "convert_peak_mib": res["convert"]["peak_rss_mib"],
            "convert_seconds": res["convert"]["seconds"],
            "to_dicom_peak_mib": res["to_dicom"]["peak_rss_mib"],
            "to_dicom_seconds": res["to_dicom"]["seconds"],
            "sha256_seconds": res["sha256_seconds"]}


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
        "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
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
            "cpu_seconds": results[stage]["cpu_seconds"],
            "files_per_s": nfiles / seconds if seconds else None,
            "mb_per_s": nbytes / 1e6 / seconds if seconds else None,
            "vs_pydicom": seconds / ref["pydicom"] if ref.get("pydicom") else None,
            "vs_sha256": seconds / ref["sha256"] if ref.get("sha256") else None,
        }
        table[stage] = row
    return table


def _goal(name: str, measured: Optional[float], target: float, higher_is_better: bool,
          unit: str = "x", cpu: Optional[float] = None) -> dict:
    """One goal; ``measured`` is from wall-clock times (what counts), ``cpu``
    the same ratio from CPU times (steadier on a busy machine)."""
    met = None if measured is None else (
        measured >= target if higher_is_better else measured <= target)
    return {"goal": name, "measured": measured, "measured_cpu": cpu, "target": target,
            "unit": unit, "higher_is_better": higher_is_better, "met": met}


def goals(table: Dict[str, dict], e2e: Optional[dict], large: Optional[dict],
          mem: Optional[dict], big: Optional[dict]) -> List[dict]:
    """Issue 15's goals next to what this run measured."""
    out = []
    ref = table.get("pydicom-json", {}).get("seconds")
    if e2e:
        conv = e2e["convert"]["seconds"]
        conv_cpu = e2e["convert"]["best_cpu_seconds"]
        if ref:
            ref_cpu = table["pydicom-json"]["cpu_seconds"]
            out.append(_goal("CLI convert --jobs 1 speed-up over pydicom dcmread+to_json_dict",
                             ref * e2e["copies"] / conv, 2.0, True,
                             cpu=ref_cpu * e2e["copies"] / conv_cpu))
        if "small" in e2e:
            out.append(_goal("small files (< 4 KB) end to end, one core",
                             e2e["small"]["files_per_s"], 1500, True, "files/s"))
        out.append(_goal("verify time / convert time", e2e["verify"]["seconds"] / conv,
                         2.2, False, cpu=e2e["verify"]["best_cpu_seconds"] / conv_cpu))
        out.append(_goal("to-dicom time / convert time", e2e["to_dicom"]["seconds"] / conv,
                         1.0, False, cpu=e2e["to_dicom"]["best_cpu_seconds"] / conv_cpu))
        for key, label in (("convert", "convert"), ("to_dicom", "to-dicom"),
                           ("verify", "verify")):
            out.append(_goal(f"two cores / one core, {label}",
                             e2e[key]["seconds"] / e2e[key + "_2"]["seconds"], 1.8, True))
        if "work_scaling" in e2e:
            out.append(_goal("two processes / one, the conversion work alone (machine ceiling, "
                             "information)", e2e["work_scaling"]["scaling"], 0, True))
        if "small" in e2e and "create_floor" in e2e["small"]:
            out.append(_goal("small files: creating the outputs alone, files/s (floor, "
                             "information)", e2e["small"]["create_floor"]["files_per_s"], 0, True,
                             "files/s"))
    if large:
        out.append(_goal("large file convert / sha256 twice",
                         large["convert"] / large["sha256_twice"], 1.0, False))
        out.append(_goal("large file to-dicom / sha256 twice",
                         large["to_dicom"] / large["sha256_twice"], 1.0, False))
    if mem:
        out.append(_goal("convert --inline-all peak above the interpreter, per file byte",
                         mem["inline_all_per_file_byte"], 2.0, False))
        out.append(_goal("load() peak above the interpreter, per Ion byte",
                         mem["load_per_ion_byte"], 1.5, False))
    if big:
        out.append(_goal("3 GB file: convert peak RSS", big["convert_peak_mib"], 60, False, "MiB"))
        out.append(_goal("3 GB file: to-dicom peak RSS", big["to_dicom_peak_mib"], 60, False,
                         "MiB"))
    if "ion-load" in table and "json-load" in table:
        out.append(_goal("why Ion: json.loads time / binary Ion load time (information)",
                         table["json-load"]["seconds"] / table["ion-load"]["seconds"], 0, True,
                         cpu=table["json-load"]["cpu_seconds"] / table["ion-load"]["cpu_seconds"]))
    return out


def _fmt(value, spec: str, suffix: str = "") -> str:
    return "-" if value is None else format(value, spec) + suffix


def format_table(table: Dict[str, dict]) -> str:
    widths = (14, 10, 10, 10, 12, 11)
    head = "".join(c.ljust(w) if i == 0 else c.rjust(w)
                   for i, (c, w) in enumerate(zip(COLUMNS, widths)))
    lines = [head, "-" * len(head)]
    for stage, row in table.items():
        cells = (stage, _fmt(row["seconds"], ".4f"), _fmt(row["files_per_s"], ".1f"),
                 _fmt(row["mb_per_s"], ".1f"), _fmt(row["vs_pydicom"], ".2f", "x"),
                 _fmt(row["vs_sha256"], ".1f", "x"))
        lines.append("".join(c.ljust(w) if i == 0 else c.rjust(w)
                             for i, (c, w) in enumerate(zip(cells, widths))))
    return "\n".join(lines)


def format_e2e(e2e: dict) -> str:
    lines = [f"end to end ({e2e['files']} files, {e2e['bytes'] / 1e6:.1f} MB, "
             f"copies {e2e['copies']}; child processes, start-up included):"]
    for key, label in (("convert", "convert --jobs 1"), ("convert_2", "convert --jobs 2"),
                       ("to_dicom", "to-dicom --jobs 1"), ("to_dicom_2", "to-dicom --jobs 2"),
                       ("verify", "verify --jobs 1"), ("verify_2", "verify --jobs 2")):
        r = e2e[key]
        lines.append(f"  {label:<24}{r['seconds']:8.3f} s {e2e['files'] / r['seconds']:9.1f} files/s "
                     f"{e2e['bytes'] / 1e6 / r['seconds']:8.1f} MB/s  cpu {r['best_cpu_seconds']:.3f} s "
                     f"(exit {r['exit']})")
    if "small" in e2e:
        s = e2e["small"]
        lines.append(f"  {'small files convert':<24}{s['seconds']:8.3f} s {s['files_per_s']:9.1f} files/s "
                     f"({s['files']} files under {SMALL} bytes, {s['distinct']} distinct)")
        if "create_floor" in s:
            f = s["create_floor"]
            lines.append(f"  {'  floor: create+rename':<24}{f['seconds']:8.3f} s {f['files_per_s']:9.1f} files/s "
                         f"(the same number of outputs, same sizes, no conversion)")
    if "work_scaling" in e2e:
        w = e2e["work_scaling"]
        lines.append(f"  {'two-process ceiling':<24}{w['scaling']:8.2f} x  (convert+dump in process: "
                     f"{w['one_process']:.3f} s in one process, {w['two_processes']:.3f} s in two)")
    return "\n".join(lines)


def format_goals(rows: List[dict]) -> str:
    lines = ["goals (issue 15):"]
    for g in rows:
        if g["measured"] is None:
            continue
        sign = ">=" if g["higher_is_better"] else "<="
        state = "information" if g["target"] == 0 else ("met" if g["met"] else "NOT met")
        target = "" if g["target"] == 0 else f"  (goal {sign} {g['target']}{g['unit']})"
        cpu = "" if g.get("measured_cpu") is None else f"  [cpu {g['measured_cpu']:.2f}]"
        lines.append(f"  {g['goal']:<72}{g['measured']:9.2f}{g['unit']:<8}{target} {state}{cpu}")
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
                        help="comma-separated in-process stages to time "
                             "(ratios need their reference)")
    parser.add_argument("--json", help="write the numbers and machine info here")
    parser.add_argument("--profile", choices=PROFILES,
                        help="cProfile one pass of this stage instead of timing "
                             "(cli: the convert command in process)")
    parser.add_argument("--sort", default="cumulative",
                        choices=("cumulative", "tottime", "ncalls"),
                        help="with --profile: order of the functions (default cumulative)")
    parser.add_argument("--lines", type=int, default=25, help="with --profile: functions shown")
    parser.add_argument("--no-e2e", action="store_true",
                        help="skip the end-to-end, large-file and memory sections")
    parser.add_argument("--copies", type=int, default=1,
                        help="end to end: each usable file this many times (default 1)")
    parser.add_argument("--small-count", type=int, default=2000,
                        help="end to end: copies of the files under 4 KB, this many in all")
    parser.add_argument("--large-size", type=make_big_file.parse_size, default="256M",
                        help="size of the generated large file (0: skip; default 256M)")
    parser.add_argument("--memory-size", type=make_big_file.parse_size, default="200M",
                        help="size of the file for the memory section (0: skip; default 200M)")
    parser.add_argument("--big", action="store_true",
                        help="also measure peak RSS on a generated file of --big-size")
    parser.add_argument("--big-size", type=make_big_file.parse_size, default="3G")
    parser.add_argument("--workdir", help="folder for the temporary files (default: system temp)")
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    if args.copies < 1:
        parser.error("--copies must be at least 1")

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
          f"dicom2ion {info['dicom2ion']}, "
          f"{info['cpu_count']} CPUs ({info['cpu'] or 'unknown'}), {info['date']}")

    t0 = time.perf_counter()
    good, excluded, data = preflight(files)
    nbytes = sum(os.path.getsize(p) for p in good)
    if info["load_average"]:
        print("load average %.2f %.2f %.2f (other work on the machine slows every stage)"
              % tuple(info["load_average"]))
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
        profile_stage(args.profile, good, data, sort=args.sort, lines=args.lines)
        return 0

    results = time_stages(args.only, good, data, args.repeat)
    table = summarise(results, len(good), nbytes)
    print(f"best of {args.repeat}:")
    print(format_table(table))

    e2e = large = mem = big = None
    if not args.no_e2e:
        with tempfile.TemporaryDirectory(prefix="dicom2ion-bench-", dir=args.workdir) as work:
            e2e = end_to_end(good, work, repeat=args.repeat, copies=args.copies,
                             small_count=args.small_count)
            print(format_e2e(e2e))
            if args.large_size:
                large = large_file(work, args.large_size, args.repeat)
                print(f"large file ({large['size'] / 1e6:.1f} MB, in process): convert "
                      f"{large['convert']:.3f} s, to-dicom {large['to_dicom']:.3f} s, "
                      f"sha256 twice {large['sha256_twice']:.3f} s")
            if args.memory_size:
                mem = memory(work, args.memory_size)
                print(f"memory ({mem['file_size'] / 1e6:.1f} MB file, Ion "
                      f"{mem['ion_size'] / 1e6:.1f} MB): convert --inline-all peak "
                      f"{mem['inline_all_peak_mib']:.1f} MiB, load() peak "
                      f"{mem['load_peak_mib']:.1f} MiB; interpreter "
                      f"{mem['interpreter_cli_mib']:.1f} / {mem['interpreter_mib']:.1f} MiB")
            if args.big:
                big = big_file(work, args.big_size)
                print(f"big file ({big['size'] / 1e9:.2f} GB): convert peak "
                      f"{big['convert_peak_mib']:.1f} MiB in {big['convert_seconds']:.1f} s, "
                      f"to-dicom peak {big['to_dicom_peak_mib']:.1f} MiB in "
                      f"{big['to_dicom_seconds']:.1f} s, identical {big['identical']}")
    goal_rows = goals(table, e2e, large, mem, big)
    if goal_rows:
        print(format_goals(goal_rows))

    if args.json:
        payload = {
            "machine": info,
            "command": [os.path.basename(sys.executable), "tools/benchmark.py",
                        *(argv if argv is not None else sys.argv[1:])],
            "repeat": args.repeat,
            "files": len(good),
            "bytes": nbytes,
            "excluded": [{"path": p, "reason": r} for p, r in excluded.items()],
            "columns": list(COLUMNS),
            "stages": table,
            "per_file": {p: {"size": os.path.getsize(p),
                             **{s: results[s]["per_file"][p] for s in results}}
                         for p in good},
            "end_to_end": e2e,
            "large_file": large,
            "memory": mem,
            "big_file": big,
            "goals": goal_rows,
        }
        with open(args.json, "w", encoding="utf-8") as fp:
            json.dump(payload, fp, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
