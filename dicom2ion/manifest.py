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

import pyarrow as pa
import pyarrow.parquet as pq

from .outputs import file_mode, output_error

from .batch import MANIFEST_FOLDER as DEFAULT_NAME

SCHEMA = pa.schema([
    ("source", pa.string()),
    ("size", pa.int64()),
    ("mtime", pa.timestamp("us", tz="UTC")),
    ("sha256", pa.string()),
    ("status", pa.string()),
    ("error", pa.string()),
    ("output", pa.string()),
    ("output_size", pa.int64()),
    ("bulk_values", pa.int64()),
    ("bulk_bytes", pa.int64()),
    ("transfer_syntax", pa.string()),
    ("sop_class_uid", pa.string()),
    ("sop_instance_uid", pa.string()),
    ("series_instance_uid", pa.string()),
    ("study_instance_uid", pa.string()),
    ("patient_id", pa.string()),
    ("modality", pa.string()),
    ("study_date", pa.string()),
    ("rows", pa.int32()),
    ("columns", pa.int32()),
    ("number_of_frames", pa.int32()),
    ("converter_version", pa.string()),
    ("options", pa.string()),
    ("seconds", pa.float64()),
    ("host", pa.string()),
    # beyond the list
    ("command", pa.string()),
    ("relative", pa.string()),
    ("damage", pa.int32()),
    ("damage_first", pa.string()),
    ("differences", pa.string()),
    ("checks", pa.string()),
    ("output_sha256", pa.string()),
    ("kind", pa.string()),
    ("mtime_ns", pa.int64()),   # exact, for resume
    ("run", pa.string()),
    ("recorded_at", pa.timestamp("us", tz="UTC")),
])

#: the row keys (``mtime`` is made from ``mtime_ns``, the exact integer)
COLUMNS = [f.name for f in SCHEMA if f.name not in ("mtime", "recorded_at")]


def new_run_id() -> str:
    now = time.time_ns()
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime(now // 10**9))
    return f"{stamp}.{now % 10**9:09d}Z-{uuid.uuid4().hex[:6]}"


def _table(rows: List[dict]) -> pa.Table:
    now = datetime.datetime.now(datetime.timezone.utc)
    columns = {}
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


def read(path: str) -> pa.Table:
    """The whole manifest as one table."""
    return pq.read_table(os.fspath(path), schema=SCHEMA)


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
