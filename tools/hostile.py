#!/usr/bin/env python3
"""Hostile inputs: generators of files built to exhaust a parser, and a
runner that checks each in a child process for time, peak memory and a clean
outcome (a project error, or an exact rebuild).

    python tools/hostile.py [--scale small|large] [--only NAME] [--json FILE]

Every generator streams its file to disk (nothing large is held in memory):

    length-beyond-file   a PixelData header claiming 4 GB - 16 in a tiny file
    deep-nesting         sequences/items of undefined length nested far past the limit
    many-fragments       encapsulated pixel data of a million 2-byte fragments
    many-items           a sequence of a million empty items
    garbage-after        gigabytes of random bytes after a complete data set
    deflate-bomb         a deflated data set of a few MB that inflates to gigabytes

The child runs convert -> binary Ion -> to_dicom (to a temporary file, with
the sha256 check) and reports its outcome; the parent measures wall time and
the child's peak RSS, which the child reports itself (its own VmHWM: a child's
ru_maxrss starts from its parent's peak, so a big test runner inflated it).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import struct
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path
from typing import BinaryIO, Callable, Dict, List, NamedTuple, Optional

ROOT = Path(__file__).resolve().parent.parent

EXPLICIT_LE = "1.2.840.10008.1.2.1"
IMPLICIT_LE = "1.2.840.10008.1.2"
DEFLATED_LE = "1.2.840.10008.1.2.1.99"
JPEG_BASELINE = "1.2.840.10008.1.2.4.50"
UNDEFINED = 0xFFFFFFFF
CHUNK = 1 << 20

# scale -> generator parameters
SCALES: Dict[str, Dict[str, int]] = {
    "small": {"levels": 20_000, "fragments": 20_000, "items": 20_000,
              "garbage": 64 << 20, "inflated": 256 << 20},
    "large": {"levels": 1_000_000, "fragments": 1_000_000, "items": 1_000_000,
              "garbage": 2 << 30, "inflated": 4 << 30},
}


# -- encoding helpers (struct only) ---------------------------------------------------
def _el(tag: int, vr: bytes, value: bytes) -> bytes:
    if vr in (b"OB", b"OW", b"SQ", b"UN", b"UT"):
        return struct.pack("<HH2sHL", tag >> 16, tag & 0xFFFF, vr, 0, len(value)) + value
    return struct.pack("<HH2sH", tag >> 16, tag & 0xFFFF, vr, len(value)) + value


def _ui(uid: str) -> bytes:
    data = uid.encode("ascii")
    return data + b"\0" if len(data) % 2 else data


def _head(syntax: str) -> bytes:
    """Preamble, DICM and an explicit VR LE meta group for ``syntax``."""
    body = (_el(0x00020001, b"OB", b"\0\1")
            + _el(0x00020002, b"UI", _ui("1.2.840.10008.5.1.4.1.1.7"))
            + _el(0x00020003, b"UI", _ui("2.25.4242"))
            + _el(0x00020010, b"UI", _ui(syntax)))
    return bytes(128) + b"DICM" + _el(0x00020000, b"UL", struct.pack("<L", len(body))) + body


def _plain_elements() -> bytes:
    return (_el(0x00080016, b"UI", _ui("1.2.840.10008.5.1.4.1.1.7"))
            + _el(0x00080018, b"UI", _ui("2.25.4242"))
            + _el(0x00100010, b"PN", b"Hostile^Input "))


def _item(length: int) -> bytes:
    return struct.pack("<HHL", 0xFFFE, 0xE000, length)


def _repeat(out: BinaryIO, piece: bytes, count: int) -> None:
    per = max(1, CHUNK // len(piece))
    block = piece * per
    while count >= per:
        out.write(block)
        count -= per
    out.write(piece * count)


# -- generators -----------------------------------------------------------------------
def length_beyond_file(out: BinaryIO, p: dict) -> None:
    out.write(_head(EXPLICIT_LE) + _plain_elements())
    out.write(struct.pack("<HH2sHL", 0x7FE0, 0x0010, b"OW", 0, 0xFFFFFFF0) + bytes(64))


def deep_nesting(out: BinaryIO, p: dict) -> None:
    out.write(_head(IMPLICIT_LE))
    out.write(struct.pack("<HHL", 0x0008, 0x0016, 26) + _ui("1.2.840.10008.5.1.4.1.1.7"))
    level = struct.pack("<HHL", 0x0008, 0x1140, UNDEFINED) + _item(UNDEFINED)
    _repeat(out, level, p["levels"])


def many_fragments(out: BinaryIO, p: dict) -> None:
    out.write(_head(JPEG_BASELINE) + _plain_elements())
    out.write(struct.pack("<HH2sHL", 0x7FE0, 0x0010, b"OB", 0, UNDEFINED) + _item(0))
    _repeat(out, _item(2) + b"\xff\xd9", p["fragments"])
    out.write(struct.pack("<HHL", 0xFFFE, 0xE0DD, 0))


def many_items(out: BinaryIO, p: dict) -> None:
    out.write(_head(EXPLICIT_LE) + _plain_elements())
    out.write(struct.pack("<HH2sHL", 0x0040, 0xA730, b"SQ", 0, UNDEFINED))
    _repeat(out, _item(0), p["items"])
    out.write(struct.pack("<HHL", 0xFFFE, 0xE0DD, 0))


def garbage_after(out: BinaryIO, p: dict) -> None:
    out.write(_head(EXPLICIT_LE) + _plain_elements())
    rng = random.Random(1)
    block = bytearray(rng.randbytes(CHUNK))
    block[4:6] = b"\x00\x01"              # not a VR: the data set ends here
    left = p["garbage"]
    while left > 0:
        out.write(block[:min(left, CHUNK)])
        left -= CHUNK
        block[:8] = rng.randbytes(8)
        block[4:6] = b"\x00\x01"


def deflate_bomb(out: BinaryIO, p: dict) -> None:
    """A complete deflated data set: a few elements, then one OB element whose
    value is ``inflated`` zero bytes (so it is valid, and tiny compressed)."""
    out.write(_head(DEFLATED_LE))
    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    out.write(comp.compress(_plain_elements()))
    size = p["inflated"]
    out.write(comp.compress(struct.pack("<HH2sHL", 0x0009, 0x1010, b"OB", 0, size)))
    zeros = bytes(CHUNK)
    left = size
    while left > 0:
        out.write(comp.compress(zeros[:min(left, CHUNK)]))
        left -= CHUNK
    out.write(comp.flush())


GENERATORS: Dict[str, Callable[[BinaryIO, dict], None]] = {
    "length-beyond-file": length_beyond_file,
    "deep-nesting": deep_nesting,
    "many-fragments": many_fragments,
    "many-items": many_items,
    "garbage-after": garbage_after,
    "deflate-bomb": deflate_bomb,
}


def generate(name: str, path: str, scale: str = "small") -> int:
    with open(path, "wb") as out:
        GENERATORS[name](out, SCALES[scale])
    return os.path.getsize(path)


# -- the check, in a child process --------------------------------------------------------
_CHILD = r"""
import json, os, sys, tempfile, time
sys.path.insert(0, sys.argv[2])
sys.path.insert(0, os.path.join(sys.argv[2], "tools"))
from make_big_file import own_peak_bytes
from dicom2ion import convert, to_dicom
from dicom2ion.errors import Dicom2IonError
from dicom2ion.ion import codec
path = sys.argv[1]
def short(text):
    return text if len(text) <= 300 else text[:140] + " ... " + text[-150:]
try:
    doc = convert(path)
except Dicom2IonError as exc:
    print(json.dumps({"kind": "refused", "detail": short(str(exc)), "peak": own_peak_bytes()}))
    sys.exit(0)
loaded = codec.loads(codec.dumps(doc, binary=True))
del doc
fd, out = tempfile.mkstemp(suffix=".dcm")
os.close(fd)
try:
    to_dicom(loaded, out, source=path)       # checks fileInfo.sha256
    kind, detail = "exact", ""
except Dicom2IonError as exc:
    kind, detail = "DIFFERENT", short(str(exc))
finally:
    os.unlink(out)
print(json.dumps({"kind": kind, "detail": detail, "peak": own_peak_bytes()}))
"""


class Result(NamedTuple):
    name: str
    scale: str
    size: int
    kind: str           # exact / refused / DIFFERENT / crash / hang
    detail: str
    seconds: float
    peak_rss: int       # bytes
    ok: bool
    limits: str


def limits_for(name: str, size: int, scale: str) -> tuple:
    """(seconds, bytes of peak RSS) allowed for one case: 1 s per MB that the
    reader must handle (the inflated size for the bomb) plus 20 s for the
    interpreter and a busy machine (no hang, nothing quadratic), and a bounded
    memory -- 300 MB whatever the input size."""
    handled = SCALES[scale]["inflated"] if name == "deflate-bomb" else size
    return 20.0 + handled / 1e6, 300 << 20


def check(name: str, scale: str = "small", folder: Optional[str] = None,
          timeout: Optional[float] = None) -> Result:
    """Generate one hostile file, run the child on it, measure it."""
    fd, path = tempfile.mkstemp(prefix=f"hostile-{name}-", suffix=".dcm", dir=folder)
    os.close(fd)
    try:
        size = generate(name, path, scale)
        seconds_limit, rss_limit = limits_for(name, size, scale)
        start = time.perf_counter()
        own_peak = None
        proc = subprocess.Popen([sys.executable, "-c", _CHILD, path, str(ROOT)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            out, err = proc.communicate(timeout=timeout or seconds_limit * 3)
            seconds = time.perf_counter() - start
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            seconds = time.perf_counter() - start
            out, err = "", ""
            kind, detail = "hang", f"killed after {seconds:.1f} s"
        else:
            if proc.returncode == 0 and out.strip():
                record = json.loads(out.strip().splitlines()[-1])
                kind, detail = record["kind"], record["detail"]
                own_peak = record.get("peak")
            else:
                kind = "crash"
                detail = (err.strip().splitlines() or [f"exit {proc.returncode}"])[-1][:300]
        # the child's own peak (RUSAGE_CHILDREN would count every child this
        # process ever waited for, forked test workers included)
        peak = own_peak if own_peak is not None else _child_peak()
    finally:
        os.unlink(path)
    ok = kind in ("exact", "refused") and seconds <= seconds_limit and peak <= rss_limit
    return Result(name, scale, size, kind, detail, seconds, peak, ok,
                  f"<= {seconds_limit:.0f} s, <= {rss_limit >> 20} MiB")


def _child_peak() -> int:
    """Peak RSS of the largest child waited for so far (Linux: kilobytes)."""
    rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return rss * 1024 if sys.platform != "darwin" else rss


def run_all(scale: str = "small", names: Optional[List[str]] = None) -> List[Result]:
    """Each case in its own runner process, so that the RSS peaks are its own."""
    results = []
    for name in names or list(GENERATORS):
        proc = subprocess.run([sys.executable, __file__, "--one", name, "--scale", scale],
                              capture_output=True, text=True)
        if proc.returncode not in (0, 1) or not proc.stdout.strip():
            results.append(Result(name, scale, 0, "crash", proc.stderr.strip()[-300:], 0.0, 0,
                                  False, ""))
            continue
        results.append(Result(**json.loads(proc.stdout.strip().splitlines()[-1])))
    return results


def print_results(results: List[Result], out=sys.stdout) -> None:
    for r in results:
        print(f"{'ok ' if r.ok else 'BAD'} {r.name:<20} {r.size / 1e6:10.1f} MB  {r.kind:<9} "
              f"{r.seconds:7.2f} s  {r.peak_rss / 2**20:7.1f} MiB  ({r.limits})", file=out)
        if r.detail:
            print(f"    {r.detail}", file=out)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", choices=sorted(SCALES), default="small")
    parser.add_argument("--only", action="append", choices=sorted(GENERATORS))
    parser.add_argument("--json", type=Path)
    parser.add_argument("--one", choices=sorted(GENERATORS), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        result = check(args.one, args.scale)
        print(json.dumps(result._asdict()))
        return 0 if result.ok else 1
    results = run_all(args.scale, args.only)
    print_results(results)
    if args.json:
        args.json.write_text(json.dumps([r._asdict() for r in results], indent=2))
    return 0 if all(r.ok for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
