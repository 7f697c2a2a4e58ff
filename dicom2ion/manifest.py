"""The run manifest: one Parquet row per input, written in parts.

A manifest is a folder (``NAME.parquet/``) of part files, each written
atomically as the run goes, so a killed run keeps every part it finished.
``pyarrow.parquet.read_table(folder)``, ``pandas.read_parquet(folder)`` and
DuckDB's ``read_parquet('folder/*.parquet')`` read it as one table. After a
run that finished, the parts of earlier runs are removed, so the table holds
one row per input; after an interrupted run both are kept and ``latest``
takes the newest row per source.
"""

from __future__ import annotations

import datetime
import os
import sys
import threading
import time
from typing import Dict, List, Optional

from . import storage
from .outputs import atomic_output, file_mode, output_error

from .batch import MANIFEST_FOLDER as DEFAULT_NAME

# (name, pyarrow type factory, its arguments); pyarrow is imported only when
# a manifest is read or written, so commands without one start faster
FIELDS = [
    ("source", "string", ()),
    ("size", "int64", ()),
    ("mtime", "timestamp", ("us", "UTC")),
    ("sha256", "string", ()),
    ("status", "string", ()),
    ("error", "string", ()),
    ("output", "string", ()),
    ("output_size", "int64", ()),
    ("bulk_values", "int64", ()),
    ("bulk_bytes", "int64", ()),
    ("transfer_syntax", "string", ()),
    ("sop_class_uid", "string", ()),
    ("sop_instance_uid", "string", ()),
    ("series_instance_uid", "string", ()),
    ("study_instance_uid", "string", ()),
    ("patient_id", "string", ()),
    ("modality", "string", ()),
    ("study_date", "string", ()),
    ("rows", "int32", ()),
    ("columns", "int32", ()),
    ("number_of_frames", "int32", ()),
    ("converter_version", "string", ()),
    ("options", "string", ()),
    ("seconds", "float64", ()),
    ("host", "string", ()),
    # beyond the list
    ("command", "string", ()),
    ("relative", "string", ()),
    ("damage", "int32", ()),
    ("damage_first", "string", ()),
    ("differences", "string", ()),
    ("checks", "string", ()),
    ("output_sha256", "string", ()),
    ("kind", "string", ()),
    ("mtime_ns", "int64", ()),
    ("run", "string", ()),
    ("recorded_at", "timestamp", ("us", "UTC")),
]


#: Set by the dicom2ion command (``cli.main`` run as the program): pyarrow is
#: then imported without numpy, which the manifest does not use and which is
#: most of pyarrow's start-up (0.1-0.3 s a run). Calls from Python code leave
#: it False: their pyarrow keeps its numpy support.
PYARROW_WITHOUT_NUMPY = False


def _arrow():
    """(pyarrow, pyarrow.parquet), imported on first use."""
    if "pyarrow.parquet" not in sys.modules and PYARROW_WITHOUT_NUMPY and \
            "numpy" not in sys.modules:
        sys.modules["numpy"] = None    # pyarrow's "import numpy" fails: it goes on without
        try:
            import pyarrow.parquet  # noqa: F401
        finally:
            if "numpy" in sys.modules and sys.modules["numpy"] is None:
                del sys.modules["numpy"]
    import pyarrow
    import pyarrow.parquet

    return pyarrow, pyarrow.parquet


def schema():
    pa, _ = _arrow()

    return pa.schema([(name, getattr(pa, kind)(*args)) for name, kind, args in FIELDS])


#: the row keys (``mtime`` is made from ``mtime_ns``, the exact integer)
COLUMNS = [f[0] for f in FIELDS if f[0] not in ("mtime", "recorded_at")]


def new_run_id() -> str:
    now = time.time_ns()
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime(now // 10**9))
    return f"{stamp}.{now % 10**9:09d}Z-{os.urandom(3).hex()}"   # (uuid: 7 ms to import)


def _table(rows: List[dict]):
    pa, _ = _arrow()

    SCHEMA = schema()
    now = datetime.datetime.now(datetime.timezone.utc)
    columns = {}
    for field in SCHEMA:
        if field.name == "mtime":
            values = [None if r.get("mtime_ns") is None else r["mtime_ns"] // 1000
                      for r in rows]
            # (microseconds straight into the timestamp type: a cast would
            # import pyarrow.compute, a tenth of a second per run)
            columns["mtime"] = pa.array(values, field.type)
        elif field.name == "recorded_at":
            columns["recorded_at"] = pa.array([now] * len(rows), field.type)
        else:
            columns[field.name] = pa.array([r.get(field.name) for r in rows], field.type)
    return pa.table(columns, schema=SCHEMA)


_PREFETCH: List[threading.Thread] = []


def _import_pyarrow() -> None:
    try:
        _arrow()
    except Exception:   # (the writer's own import reports it)
        pass


def prefetch() -> None:
    """Start importing pyarrow (a tenth of a second or more) in a thread.
    For a run whose work happens in other processes: this one waits on them
    meanwhile, so the import costs no time at the end of the run. A fork
    waits until the import is done (no child gets a half-made module)."""
    if "pyarrow.parquet" in sys.modules or _PREFETCH:
        return
    thread = threading.Thread(target=_import_pyarrow, name="dicom2ion-import-pyarrow",
                              daemon=True)
    _PREFETCH.append(thread)
    thread.start()


def _prefetch_done() -> None:
    for thread in _PREFETCH:
        if thread.is_alive():
            thread.join()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(before=_prefetch_done)


class ManifestWriter:
    """Collects rows and writes a part every ``every`` rows or ``seconds``."""

    def __init__(self, path: str, run_id: str, *, every: int = 1000, seconds: float = 30.0):
        self.path = os.fspath(path)
        self.run_id = run_id
        self.every = every
        self.seconds = seconds
        self._rows: List[dict] = []
        self._parts = 0
        self._last = time.monotonic()
        if storage.is_url(self.path):       # a folder on a store: parts are uploaded whole
            return
        try:
            os.makedirs(self.path, exist_ok=True)
            probe = os.path.join(self.path, f".probe-{run_id}")
            with open(probe, "wb"):
                pass
            os.unlink(probe)
        except OSError as exc:
            raise output_error(self.path, exc) from None

    def add(self, row: dict) -> None:
        self._rows.append(row)
        if len(self._rows) >= self.every or time.monotonic() - self._last >= self.seconds:
            self.flush()

    def flush(self) -> None:
        if not self._rows:
            return
        name = storage.join(self.path, f"part-{self.run_id}-{self._parts:05d}.parquet")
        if storage.is_url(name):
            self._upload(name)
            return
        tmp = os.path.join(self.path, f".{os.path.basename(name)}.part")
        try:
            _, pq = _arrow()
            pq.write_table(_table(self._rows), tmp)
            os.chmod(tmp, file_mode())
            os.replace(tmp, name)
        except BaseException as exc:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            if isinstance(exc, OSError):
                raise output_error(name, exc) from None
            raise
        self._parts += 1
        self._rows = []
        self._last = time.monotonic()

    def _upload(self, name: str) -> None:
        pa, pq = _arrow()
        buffer = pa.BufferOutputStream()
        pq.write_table(_table(self._rows), buffer)
        with atomic_output(name) as fp:
            fp.write(buffer.getvalue().to_pybytes())
        self._parts += 1
        self._rows = []
        self._last = time.monotonic()

    def close(self) -> None:
        self.flush()
        _prefetch_done()     # (no thread left importing at exit)

    def drop_older_runs(self) -> None:
        """Remove parts of earlier runs (after this run finished)."""
        for name in _names(self.path):
            if name.startswith("part-") and name.endswith(".parquet") and \
                    not name.startswith(f"part-{self.run_id}-"):
                try:
                    storage.remove(storage.join(self.path, name))
                except OSError:
                    pass


def read(path: str):
    """The whole manifest as one pyarrow Table (a local folder, or a URL)."""
    _, pq = _arrow()

    path = os.fspath(path)
    if storage.is_url(path):
        fs, inner = storage.filesystem(path)
        return pq.read_table(inner, filesystem=fs, schema=schema())
    return pq.read_table(path, schema=schema())


def _names(path: str) -> List[str]:
    """The names in a manifest folder (local or on a store)."""
    if storage.is_url(path):
        return [storage.basename(url) for url, rel in storage.walk_files(path) if "/" not in rel]
    return os.listdir(path)


class Latest:
    """The newest row per source of a manifest, kept as Arrow data (compact
    for millions of rows); ``get(source)`` gives one row as a dict."""

    def __init__(self, table=None):
        self._table = table
        self._index: Dict[str, int] = {}
        if table is None:
            return
        sources = table.column("source").to_pylist()
        runs = table.column("run").to_pylist()
        best: Dict[str, tuple] = {}
        for i, (source, run) in enumerate(zip(sources, runs)):
            stamp = (run or "", i)
            if source not in best or stamp >= best[source]:
                best[source] = stamp
        self._index = {source: stamp[1] for source, stamp in best.items()}

    def __len__(self) -> int:
        return len(self._index)

    def __contains__(self, source) -> bool:
        return source in self._index

    def get(self, source: str) -> Optional[dict]:
        i = self._index.get(source)
        if i is None:
            return None
        row = self._table.slice(i, 1).drop(["mtime", "recorded_at"]).to_pylist()[0]
        return row


def latest(path: str) -> Latest:
    """The newest row per source (see Latest); empty when there is no manifest."""
    if not storage.isdir(path) or not any(
            n.startswith("part-") and n.endswith(".parquet") for n in _names(path)):
        return Latest()
    return Latest(read(path))


def default_path(out: Optional[str]) -> Optional[str]:
    return storage.join(out, DEFAULT_NAME) if out else None
