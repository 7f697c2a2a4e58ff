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
import time
import uuid
from typing import Dict, List, Optional


from .outputs import file_mode, output_error

from .batch import MANIFEST_FOLDER as DEFAULT_NAME

# (name, pyarrow type): pyarrow is imported only when a manifest is written or
# read, so commands that write none start without it
_FIELDS = (
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
    ("command", "string", ()),
    ("relative", "string", ()),
    ("damage", "int32", ()),
    ("damage_first", "string", ()),
    ("differences", "string", ()),
    ("checks", "string", ()),
    ("output_sha256", "string", ()),
    ("kind", "string", ()),
    ("mtime_ns", "int64", ()),   # exact, for resume
    ("run", "string", ()),
    ("recorded_at", "timestamp", ("us", "UTC")),
)

#: the row keys (``mtime`` is made from ``mtime_ns``, the exact integer)
COLUMNS = [name for name, _, _ in _FIELDS if name not in ("mtime", "recorded_at")]

_SCHEMA = None


def schema():
    """The manifest's pyarrow schema (pyarrow imported on first use)."""
    global _SCHEMA
    if _SCHEMA is None:
        import pyarrow as pa

        _SCHEMA = pa.schema([(name, getattr(pa, typ)(*args)) for name, typ, args in _FIELDS])
    return _SCHEMA


def __getattr__(name):
    if name == "SCHEMA":
        return schema()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def new_run_id() -> str:
    now = time.time_ns()
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime(now // 10**9))
    return f"{stamp}.{now % 10**9:09d}Z-{uuid.uuid4().hex[:6]}"


def _table(rows: List[dict]):
    import pyarrow as pa

    now = datetime.datetime.now(datetime.timezone.utc)
    columns = {}
    SCHEMA = schema()
    for field in SCHEMA:
        if field.name == "mtime":
            values = [None if r.get("mtime_ns") is None else r["mtime_ns"] // 1000
                      for r in rows]
            columns["mtime"] = pa.array(values, pa.int64()).cast(field.type)
        elif field.name == "recorded_at":
            columns["recorded_at"] = pa.array([now] * len(rows), field.type)
        else:
            columns[field.name] = pa.array([r.get(field.name) for r in rows], field.type)
    return pa.table(columns, schema=SCHEMA)


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
        name = os.path.join(self.path, f"part-{self.run_id}-{self._parts:05d}.parquet")
        tmp = os.path.join(self.path, f".{os.path.basename(name)}.part")
        try:
            import pyarrow.parquet as pq

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

    def close(self) -> None:
        self.flush()

    def drop_older_runs(self) -> None:
        """Remove parts of earlier runs (after this run finished)."""
        for name in os.listdir(self.path):
            if name.startswith("part-") and name.endswith(".parquet") and \
                    not name.startswith(f"part-{self.run_id}-"):
                try:
                    os.unlink(os.path.join(self.path, name))
                except OSError:
                    pass


def read(path: str):
    """The whole manifest as one pyarrow table."""
    import pyarrow.parquet as pq

    return pq.read_table(os.fspath(path), schema=schema())


def latest(path: str) -> Dict[str, dict]:
    """The newest row per source, as row dicts (``mtime_ns`` restored)."""
    if not os.path.isdir(path) or not any(
            n.startswith("part-") and n.endswith(".parquet") for n in os.listdir(path)):
        return {}
    table = read(path)
    newest: Dict[str, dict] = {}
    for i, row in enumerate(table.drop(["mtime", "recorded_at"]).to_pylist()):
        stamp = (row.get("run") or "", i)
        old = newest.get(row["source"])
        if old is None or stamp >= old["_stamp"]:
            row["_stamp"] = stamp
            newest[row["source"]] = row
    for row in newest.values():
        row.pop("_stamp", None)
    return newest


def default_path(out: Optional[str]) -> Optional[str]:
    return os.path.join(out, DEFAULT_NAME) if out else None
