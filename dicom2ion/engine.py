"""One batch engine for convert, to-dicom and verify.

The per-file work is one pure function::

    process(task: Task, progress=None) -> Row

``Task`` is a small frozen dataclass (picklable), ``Row`` a plain dict whose
keys are ``manifest.COLUMNS`` (picklable). ``process`` prints nothing, reads
no globals, never raises for a bad file (the row says ``failed`` with the
error) and is idempotent: outputs are written atomically and bulk values are
content-addressed, so running a task twice, or on another machine, is
harmless. ``progress``, when given, is called as ``progress(task.seq,
bytes_done)`` from inside the work (bytes of *this* task's input so far); an
executor may pass None.

Executors (``executors.py``) decide where ``process`` runs. An executor is
any object with two methods::

    map(tasks: Iterable[Task], progress: Callable[[int, int], None]) -> Iterator[Row]
        run process(task) for every task and yield each row as soon as it
        is done, in any order; call progress(seq, bytes_done) from the
        caller's thread whenever it knows more (optional).
    close(cancel: bool) -> None
        release the workers; with cancel=True stop running tasks promptly
        (Ctrl-C); tasks clean up their own temporary files.

Register a new one with ``executors.register("name", factory)`` where
``factory(jobs=N, **options)`` returns the executor; ``--engine name``
then selects it. ``process_group(tasks)`` runs a list of tasks in order
(the unit a distributed executor may submit).

``run_batch`` is the client side shared by every command: it feeds tasks
to an executor, prints nothing itself but calls ``on_row`` as rows arrive
(the CLI prints failures then), keeps a byte-based progress bar, writes
the manifest in parts, and on Ctrl-C stops cleanly and returns a partial
summary.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import sys
import time
from typing import Callable, Dict, Iterable, List, Optional, Tuple, Union

from ._version import __version__
from . import storage
from .ion import multimap
from .errors import Dicom2IonError

CHUNK = 1 << 20

Row = Dict[str, object]


@dataclasses.dataclass(frozen=True)
class Task:
    """One file's work. Everything the work needs is in here."""
    seq: int                      # position in the run (progress and ordering)
    command: str                  # "convert", "to-dicom" or "verify"
    source: str                   # input path ("-": stdin)
    output: Optional[str]         # output path (None for verify)
    size: int = 0
    mtime_ns: int = 0
    relative: str = ""            # path under its root (the manifest's "relative")
    options: Tuple[Tuple[str, object], ...] = ()   # command options, sorted
    original: Optional[str] = None   # to-dicom / verify of Ion: where the original P10 is
    previous: Optional[Tuple[Tuple[str, object], ...]] = None  # resume by sha256: last row
    run_id: str = ""

    def option(self, name, default=None):
        for key, value in self.options:
            if key == name:
                return value
        return default


def freeze_options(options: dict) -> Tuple[Tuple[str, object], ...]:
    return tuple(sorted((k, tuple(v) if isinstance(v, list) else v)
                        for k, v in options.items()))


def options_text(options: Tuple[Tuple[str, object], ...]) -> str:
    """The options as canonical JSON (the manifest's ``options``)."""
    return json.dumps(dict(options), sort_keys=True, separators=(",", ":"), default=list)


_ROW_CACHE: dict = {}   # options -> (blank row, options text): once per run, not per file


def empty_row(task: Task) -> Row:
    try:
        cached = _ROW_CACHE.get(task.options)
    except TypeError:               # (options holding lists: not cached)
        cached = None
    if cached is None:
        from .manifest import COLUMNS

        cached = (dict.fromkeys(COLUMNS), options_text(task.options))
        try:
            if len(_ROW_CACHE) > 16:
                _ROW_CACHE.clear()
            _ROW_CACHE[task.options] = cached
        except TypeError:
            pass
    blank, options = cached
    row: Row = dict(blank)
    row.update(source=task.source, relative=task.relative, command=task.command,
               size=task.size, output=task.output, converter_version=__version__,
               options=options, host=_hostname(), run=task.run_id,
               mtime_ns=task.mtime_ns, damage=0)
    row["seq"] = task.seq
    return row


_HOST: List[str] = []


def _hostname() -> str:
    """This machine's name (asked once per process; POSIX's uname gives
    gethostname's answer without importing socket)."""
    if not _HOST:
        uname = getattr(os, "uname", None)
        if uname is not None:
            _HOST.append(uname().nodename)
        else:
            import socket

            _HOST.append(socket.gethostname())
    return _HOST[0]


# -- reading with progress ---------------------------------------------------------

class CountingReader:
    """A binary file that reports how many bytes have been read."""

    def __init__(self, path: str, report: Optional[Callable[[int], None]],
                 expected: Optional[int] = None):
        self.name = path
        self._fp = storage.open_read(path) if path != "-" else sys.stdin.buffer
        self._report = report
        self.count = 0
        self._expected = expected    # the size stat gave: reads ask for no more than that

    def head(self, n: int) -> bytes:
        """The first ``n`` bytes of a file opened just now (it is rewound:
        they are read again, and counted, by ``read``)."""
        data = self._fp.read(n)
        self._fp.seek(0)
        return data

    def read(self, n=-1) -> bytes:
        if n is not None and n > 0 and self._expected is not None:
            # (a 1 MiB read of a 2 KB file allocates 1 MiB; a little more than
            # is left still finds the end, or a file that grew)
            n = min(n, max(self._expected - self.count, 0) + (1 << 16))
        data = self._fp.read(n)
        self.count += len(data)
        if self._report is not None:
            self._report(self.count)
        return data

    def close(self) -> None:
        if self._fp is not sys.stdin.buffer:
            self._fp.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


class CountingWriter:
    """Counts bytes written to ``fp`` (None: discard them)."""

    def __init__(self, fp=None, report: Optional[Callable[[int], None]] = None):
        self.fp = fp
        self.count = 0
        self._report = report

    def write(self, data) -> int:
        if self.fp is not None:
            self.fp.write(data)
        self.count += len(data)
        if self._report is not None:
            self._report(self.count)
        return len(data)

    def flush(self) -> None:
        if self.fp is not None:
            self.fp.flush()


def sha256_of(path: str) -> str:
    hasher = hashlib.sha256()
    with storage.open_read(path) as fp:
        for chunk in iter(lambda: fp.read(CHUNK), b""):
            hasher.update(chunk)
    return hasher.hexdigest()


# -- what a document says -----------------------------------------------------------

_ATTRIBUTES = {
    "sop_class_uid": "SOPClassUID", "sop_instance_uid": "SOPInstanceUID",
    "series_instance_uid": "SeriesInstanceUID", "study_instance_uid": "StudyInstanceUID",
    "patient_id": "PatientID", "modality": "Modality", "study_date": "StudyDate",
}
_NUMBERS = {"rows": "Rows", "columns": "Columns", "number_of_frames": "NumberOfFrames"}


def _get(mapping, key):
    if mapping is None or not hasattr(mapping, "get"):
        return None
    try:
        return mapping.get(key)
    except Exception:
        return None


def _plain_text(value) -> Optional[str]:
    if value is None or isinstance(value, (dict, list, bytes, bytearray)):
        return None
    if hasattr(value, "ion_type") and getattr(value, "ion_type", None) is not None:
        if str(value.ion_type).endswith("NULL"):
            return None
    text = str(value).strip()
    return text or None


def _plain_int(value) -> Optional[int]:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return int(value)
    if isinstance(value, (list, tuple)) and len(value) == 1:
        return _plain_int(value[0])
    try:
        text = _plain_text(value)
        return int(text) if text is not None else None
    except (TypeError, ValueError):
        return None


_LEAVES = (str, int, float, bytes, type(None))
_SKIP: List[frozenset] = []


def _skipped_types() -> frozenset:
    """Exact types that hold no reference struct (text, numbers, bytes,
    nulls: plain and as amazon.ion loads them)."""
    if not _SKIP:
        from amazon.ion import simple_types as ion

        from .ion.null import Null

        _SKIP.append(frozenset((
            str, int, float, bytes, bool, type(None), Null, ion.IonPyNull, ion.IonPyText,
            ion.IonPyBytes, ion.IonPyInt, ion.IonPyBool, ion.IonPyFloat, ion.IonPyDecimal,
            ion.IonPyTimestamp, ion.IonPySymbol)))
    return _SKIP[0]


def _references(value, seen: List[int]) -> None:
    """Counts and sizes of every reference struct (dataOffset, length, sha256):
    one pass with a stack, into structs (the newest value of each field) and
    lists only; scalars are not visited one by one."""
    skip = _skipped_types()
    stack = [value]
    count = total = 0
    while stack:
        value = stack.pop()
        if isinstance(value, _LEAVES):
            continue
        if isinstance(value, dict) or hasattr(value, "iteritems"):
            keys = value.keys()
            if "sha256" in keys and "length" in keys and "dataOffset" in keys:
                count += 1
                total += int(value["length"])
                continue
            # (amazon.ion's IonPyDict keeps a list per field: read at once)
            store = None if type(value) is dict else multimap.store(value)
            items = [v[-1] for v in store.values()] if store is not None else value.values()
            stack.extend([item for item in items if type(item) not in skip])
        elif isinstance(value, list):
            stack.extend([item for item in value if type(item) not in skip])
    seen[0] += count
    seen[1] += total


def describe(doc, row: Row) -> None:
    """Fill the row's document columns (UIDs, sizes, damage) from a document."""
    file_info = _get(doc, "fileInfo")
    row["sha256"] = _plain_text(_get(file_info, "sha256")) or row.get("sha256")
    row["transfer_syntax"] = _plain_text(_get(file_info, "transferSyntaxUID"))
    data_set = _get(doc, "dataSet")
    for column, keyword in _ATTRIBUTES.items():
        row[column] = _plain_text(_get(data_set, keyword))
    for column, keyword in _NUMBERS.items():
        row[column] = _plain_int(_get(data_set, keyword))
    seen = [0, 0]
    _references(data_set, seen)
    _references(_get(doc, "wire"), seen)
    row["bulk_values"], row["bulk_bytes"] = seen
    damage = _get(doc, "damage")
    if damage:
        records = list(damage)
        row["damage"] = len(records)
        first = records[0]
        where = _get(first, "offset")
        message = _plain_text(_get(first, "message")) or _plain_text(_get(first, "kind")) or ""
        path = _plain_text(_get(first, "path"))
        parts = [p for p in (f"offset {where}" if where is not None else None,
                             path and f"tag {path}") if p]
        row["damage_first"] = (", ".join(parts) + ": " if parts else "") + message


# -- the per-file work -----------------------------------------------------------------

def process(task: Task, progress: Optional[Callable[[int, int], None]] = None) -> Row:
    """Do one task; return its manifest row. Never raises for a bad file."""
    from .bulk import discard_unfinished

    start = time.perf_counter()
    row = empty_row(task)
    report = (lambda n: progress(task.seq, n)) if progress is not None else None
    try:
        WORK[task.command](task, row, report)
    except Dicom2IonError as exc:
        row["status"], row["error"] = "failed", str(exc)
    except OSError as exc:
        where = getattr(exc, "filename", None) or task.source
        row["status"], row["error"] = "failed", f"{where}: {exc.strerror or exc}"
    except MemoryError:
        row["status"], row["error"] = "failed", f"{task.source}: out of memory"
    except BaseException:
        discard_unfinished()
        raise
    finally:
        row["seconds"] = time.perf_counter() - start
    if row["status"] == "failed":
        discard_unfinished()
        row["output"] = None if task.command != "verify" else row["output"]
    return row


def process_group(tasks: Iterable[Task],
                  progress: Optional[Callable[[int, int], None]] = None) -> List[Row]:
    """``process`` over several tasks, in order (a distributed executor's unit)."""
    return [process(task, progress) for task in tasks]


def _stat_into(task: Task, row: Row):
    """Size and mtime into the row; whether the source is a regular file
    (a pipe such as ``<(...)`` or stdin can be read only once): true (the
    local file's ``os.stat_result``, or True for a URL) or False."""
    if task.source == "-":
        return False
    if storage.is_url(task.source):       # an object on a store can be read again
        row["size"], row["mtime_ns"] = storage.stat_ns(task.source)
        return True
    st = os.stat(task.source)
    row["size"], row["mtime_ns"] = st.st_size, st.st_mtime_ns
    import stat

    return st if stat.S_ISREG(st.st_mode) else False


def _unchanged_by_sha256(task: Task, row: Row) -> bool:
    if task.previous is None:
        return False
    previous = dict(task.previous)
    if sha256_of(task.source) != previous.get("sha256"):
        return False
    keep = {k: v for k, v in previous.items() if k in row}
    keep.update(status="unchanged", run=task.run_id, mtime_ns=row["mtime_ns"], size=row["size"],
                host=row["host"], error=None)
    row.update(keep)
    return True


def _convert(task: Task, row: Row, report) -> None:
    from .batch import looks_like_dicom
    from .convert import convert, dump, source_info_for
    from .outputs import atomic_output

    regular = _stat_into(task, row)
    expected = regular.st_size if isinstance(regular, os.stat_result) else None
    with CountingReader(task.source, report, expected) as reader:   # one open: sniffed, read
        if regular and not task.option("force") and not looks_like_dicom(reader.head(132)):
            row["status"], row["error"], row["output"] = "skipped", "not a DICOM file", None
            return
        if regular and _unchanged_by_sha256(task, row):
            return
        keywords = {k: task.option(k) for k in ("standard_limit", "private_limit", "inline_all",
                                                "bulk_dir", "reproducible", "dictionary")}
        keywords["strict"] = bool(task.option("strict"))   # refuse damaged files
        info = source_info_for(task.source, regular) if regular else None
        doc = convert(reader, source_info=info, **keywords)
        row["size"] = reader.count
    with atomic_output(task.output) as fp:
        counter = CountingWriter(fp)
        if task.option("format") == "dicom-json":
            from .dicom_json import write_dicom_json
            write_dicom_json(doc, counter, indent=2 if task.option("pretty") else None,
                             dictionary=task.option("dictionary"),
                             bulk_dir=task.option("bulk_dir"),
                             source_file=None if task.source == "-" else task.source)
        else:
            dump(doc, counter, binary=not (task.option("text") or task.option("pretty")),
                 pretty=bool(task.option("pretty")))
    describe(doc, row)
    row["output_size"] = counter.count
    row["status"] = "damaged" if row["damage"] else "converted"
    if row["damage"]:
        row["error"] = f"{problems(row['damage'])} (first: {row['damage_first']})"


def problems(count: int) -> str:
    """``1 problem``, ``2 problems``: how a damaged file's count is said."""
    return f"{count} problem" if count == 1 else f"{count} problems"


def _load_ion(task: Task, row: Row):
    from .convert import load

    _stat_into(task, row)
    if task.source == "-":
        data = sys.stdin.buffer.read()
        row["size"] = len(data)
        return load(data)
    return load(task.source)


_NATIVE = ("1.2.840.10008.1.2", "1.2.840.10008.1.2.1", "1.2.840.10008.1.2.2",
           "1.2.840.10008.1.2.1.99")


def original_for(task: Task, doc) -> Optional[str]:
    """The original P10 file: --source, else sourceInfo.uri remapped by --source-root."""
    if task.original:
        return task.original
    uri = _plain_text(_get(_get(doc, "sourceInfo"), "uri"))
    if not uri:
        return None
    if uri.startswith("file:"):
        uri = storage.file_path(uri)
    from .batch import remap

    return remap(uri, [tuple(p) for p in task.option("source_root") or ()])


def _to_dicom(task: Task, row: Row, report) -> None:
    from .convert import to_dicom
    from .outputs import OutputError, atomic_output

    if task.source != "-" and not _looks_like_ion(task.source):
        row["status"], row["error"], row["output"] = "skipped", "not an Ion file", None
        return
    doc = _load_ion(task, row)
    describe(doc, row)
    ion_sha = row["sha256"]
    if _unchanged_by_sha256(task, row):
        return
    row["sha256"] = ion_sha
    target = task.option("transfer_syntax")
    if target and row["transfer_syntax"] not in (None, *_NATIVE) and \
            _get(_get(doc, "dataSet"), "PixelData") is not None:
        raise Dicom2IonError(f"{task.source}: --transfer-syntax {target} does not fit the pixel "
                             f"data, which is encapsulated ({row['transfer_syntax']}); "
                             "dicom2ion does not decompress")
    original = original_for(task, doc)
    if original and task.output not in (None, "-") and not storage.is_url(original) and \
            not storage.is_url(task.output) and _same_file(original, task.output):
        raise OutputError(task.output, "it is the original file the document references")
    expected = _plain_int(_get(_get(doc, "fileInfo"), "size")) or 0
    scale = (row["size"] or 0) / expected if expected else 0.0
    scaled = (lambda n: report(int(n * scale))) if report is not None else None
    bulk = list(task.option("bulk_dir") or ())
    with atomic_output(task.output) as fp:
        counter = CountingWriter(fp, scaled)
        result = to_dicom(doc, counter, source=original, bulk_dir=bulk,
                          canonical=bool(task.option("canonical")),
                          transfer_syntax=task.option("transfer_syntax"))
    row["output_size"] = result["size"]
    row["output_sha256"] = result["sha256"]
    row["status"] = "damaged" if row["damage"] else "converted"


def _same_file(a: str, b: str) -> bool:
    """Whether two paths name one existing file (links and hard links
    included): two stats, not a realpath walk of each."""
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def _looks_like_ion(path: str) -> bool:
    from .batch import looks_like_ion

    return looks_like_ion(path)


def _verify(task: Task, row: Row, report) -> None:
    from .batch import looks_like_ion, sniff

    row["output"] = None
    _stat_into(task, row)
    if task.source != "-" and looks_like_ion(task.source):
        _verify_ion(task, row, report)
        return
    if task.source != "-" and not task.option("force") and not sniff(task.source):
        row["status"], row["error"] = "skipped", "not a DICOM or Ion file"
        return
    from .verify import verify_p10

    result = verify_p10(task.source, report=report, strict=bool(task.option("strict")),
                        **({"dictionary": task.option("dictionary")}
                           if task.option("dictionary") else {}))
    if result.get("document") is not None:
        describe(result["document"], row)
    row["sha256"] = result.get("sha256") or row.get("sha256")
    row["status"] = result["status"]
    row["error"] = result.get("error")
    row["checks"] = json.dumps(result.get("checks") or {})
    if result.get("differences"):
        row["differences"] = json.dumps(result["differences"], default=str)


def _verify_ion(task: Task, row: Row, report) -> None:
    from .convert import to_dicom

    doc = _load_ion(task, row)
    describe(doc, row)
    row["kind"] = "ion"
    expected = _plain_int(_get(_get(doc, "fileInfo"), "size")) or 0
    scale = (row["size"] or 0) / expected if expected else 0.0
    scaled = (lambda n: report(int(n * scale))) if report is not None else None
    bulk = list(task.option("bulk_dir") or ())
    result = to_dicom(doc, CountingWriter(None, scaled), source=original_for(task, doc),
                      bulk_dir=bulk, check=False)
    row["output_size"] = result["size"]
    row["output_sha256"] = result["sha256"]
    row["checks"] = json.dumps({"referencesVerified": True,
                                "rebuiltSha256": bool(result["identical"])})
    if result["identical"]:
        row["status"] = "identical"
    else:
        row["status"] = "different"
        row["error"] = (f"the rebuilt file's sha256 {result['sha256']} differs from "
                        f"fileInfo.sha256 {row['sha256']}")


WORK = {"convert": _convert, "to-dicom": _to_dicom, "verify": _verify}


# -- the client side ---------------------------------------------------------------------

@dataclasses.dataclass
class Outcome:
    """What a run did: counts per status and bytes (rows only when kept)."""
    counts: Dict[str, int]
    size: int
    seconds: float
    interrupted: bool = False
    manifest: Optional[str] = None
    rows: List[Row] = dataclasses.field(default_factory=list)
    damaged: int = 0

    @property
    def files(self) -> int:
        return sum(self.counts.values())

    @classmethod
    def of(cls, rows: List[Row], seconds: float, **kw) -> "Outcome":
        outcome = cls({}, 0, seconds, rows=list(rows), **kw)
        for row in rows:
            outcome.count(row)
        return outcome

    def count(self, row: Row) -> None:
        self.counts[row["status"]] = self.counts.get(row["status"], 0) + 1
        self.size += int(row.get("size") or 0)
        self.damaged += 1 if row.get("damage") else 0


class _Progress:
    """A byte-based bar: moves inside files, counts files, shows an ETA."""

    def __init__(self, enabled: bool, total: int, files: int, label: str):
        self.finished = 0
        self.inflight: Dict[int, int] = {}
        self.closed: set = set()
        self.files = files
        self.done = 0
        self.bar = None
        if enabled:
            from tqdm import tqdm

            self.bar = tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1000,
                            desc=label, file=sys.stderr, dynamic_ncols=True, smoothing=0.1,
                            bar_format="{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt}"
                                       " [{elapsed}<{remaining}, {rate_fmt}{postfix}]")

    def moved(self, seq: int, count: int) -> None:
        if seq not in self.closed:
            self.inflight[seq] = count
            self._show()

    def row(self, seq: int, size: int) -> None:
        self.inflight.pop(seq, None)
        self.closed.add(seq)
        self.finished += size or 0
        self.done += 1
        self._show(True)

    def _show(self, files: bool = False) -> None:
        if self.bar is None:
            return
        position = self.finished + sum(self.inflight.values())
        if position > self.bar.n:
            self.bar.update(position - self.bar.n)
        if files:
            self.bar.set_postfix_str(f"{self.done}/{self.files} files", refresh=False)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()

    def write(self, line: str, file) -> None:
        if self.bar is not None:
            self.bar.clear()
            print(line, file=file, flush=True)
            self.bar.refresh()
        else:
            print(line, file=file, flush=True)


def run_batch(items: Iterable[Union[Task, Row]], executor, *,
              on_row: Callable[[Row, Callable[[str, object], None]], None],
              total_bytes: int = 0, total_files: int = 0, progress: bool = False,
              label: str = "files", manifest=None, keep_rows: bool = False) -> Outcome:
    """Run every Task through ``executor`` (rows given ready are passed on
    as they are). ``on_row(row, write)`` is called for each row as it
    arrives; ``write(line, file)`` prints without breaking the bar. Rows go
    to ``manifest.add`` (a ManifestWriter) as they come and are counted; they
    are kept in ``Outcome.rows`` only with ``keep_rows`` (memory stays bounded
    for millions of files). Ctrl-C stops the executor and returns what
    finished (``interrupted=True``)."""
    start = time.perf_counter()
    bar = _Progress(progress, total_bytes, total_files, label)
    outcome = Outcome({}, 0, 0.0, manifest=manifest.path if manifest is not None else None)
    interrupted = False

    def take(row: Row) -> None:
        outcome.count(row)
        if keep_rows:
            outcome.rows.append(row)
        bar.row(int(row.get("seq", -1)), int(row.get("size") or 0))
        if manifest is not None:
            manifest.add(row)
        on_row(row, bar.write)

    tasks: List[Task] = []
    ready: List[Row] = []
    for item in items:
        (tasks if isinstance(item, Task) else ready).append(item)
    # a pool's workers are running once its first row is here: the manifest's
    # pyarrow import can happen meanwhile (not after the last row)
    prefetch = manifest is not None and getattr(executor, "works_elsewhere", False)
    try:
        for row in ready:
            take(row)
        stream = executor.map(tasks, bar.moved if bar.bar is not None else None)
        for row in stream:
            take(row)
            if prefetch:
                prefetch = False
                from .manifest import prefetch as import_pyarrow

                import_pyarrow()
    except KeyboardInterrupt:
        interrupted = True
    finally:
        cancel = sys.exc_info()[0] is not None or interrupted
        try:
            executor.close(cancel=cancel)
        except KeyboardInterrupt:
            interrupted = True
            executor.close(cancel=True)
        bar.close()
        if manifest is not None:
            manifest.close()
    outcome.seconds = time.perf_counter() - start
    outcome.interrupted = interrupted
    return outcome


def summary(outcome: Outcome, statuses: Iterable[str], optional: Iterable[str] = ()) -> str:
    """Counts per status (those in ``optional`` only when not zero), bytes
    (MB = 10^6 bytes), time and rates."""
    counts = {s: 0 for s in statuses}
    for status, n in outcome.counts.items():
        counts[status] = counts.get(status, 0) + n
    mb = outcome.size / 1e6
    files = outcome.files
    seconds = outcome.seconds
    rate = (f" ({files / seconds:.1f} files/s, {mb / seconds:.1f} MB/s)"
            if seconds > 0 else "")
    optional = set(optional)
    parts = ", ".join(f"{n} {s}" for s, n in counts.items() if n or s not in optional)
    text = f"{parts}; {files} file{'' if files == 1 else 's'}, {mb:.1f} MB in {seconds:.2f} s{rate}"
    if outcome.interrupted:
        text = "interrupted: " + text
    return text
