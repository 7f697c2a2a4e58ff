#!/usr/bin/env python3
"""Write a large, valid DICOM Part 10 file by streaming, and optionally
measure how much memory converting it takes.

    python tools/make_big_file.py /tmp/big.dcm --size 2G
    python tools/make_big_file.py /tmp/big.dcm --size 2G --measure --remove

The file is explicit VR little endian, Multi-frame Grayscale Word Secondary
Capture: a short data set and native (OW) pixel data of about ``--size``
bytes, rounded down to whole 512 x 512 x 16-bit frames (smaller frames for
small sizes). Native OW has a 32-bit length, so the pixel data can be at
most 4 GiB - 2 bytes. The pixel bytes repeat one pseudo-random block, so
the file is written in constant memory whatever its size.

``--measure`` then runs ``dicom2ion convert`` (and ``dicom2ion to-dicom``
back from the Ion, unless ``--no-back``) in child processes and reports
each one's peak RSS (the child's own VmHWM) and throughput next to the
file size, plus a bare ``import dicom2ion.cli`` as the interpreter's
baseline and an in-process sha256 pass as the floor. ``--json OUT`` writes
the same numbers.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import os
import platform
import random
import re
import resource
import struct
import subprocess
import sys
import tempfile
import time

SOP_CLASS = "1.2.840.10008.5.1.4.1.1.7.3"   # Multi-frame Grayscale Word SC Image Storage
EXPLICIT_LE = "1.2.840.10008.1.2.1"
JPEG_BASELINE = "1.2.840.10008.1.2.4.50"   # encapsulated (the bytes are not real JPEG)
IMPLEMENTATION_CLASS = "1.2.826.0.1.3680043.10.1011.1"  # any syntactically valid UID
UID_ROOT = "1.2.826.0.1.3680043.10.1011.2."
MAX_OW = 0xFFFFFFFE          # largest even defined length
BLOCK = 4 << 20              # bytes written per call
FULL_SIDE = 512

_SHORT_VRS = {"AE", "AS", "AT", "CS", "DA", "DS", "DT", "FL", "FD", "IS", "LO", "LT", "PN",
              "SH", "SL", "SS", "ST", "TM", "UI", "UL", "US"}


def parse_size(text: str) -> int:
    """'2G', '512M', '64K', '1000' (binary units) -> bytes."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KMGT]?)(?:i?B)?\s*", text, re.IGNORECASE)
    if not match:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (use e.g. 2G, 512M, 64K)")
    scale = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
    return int(float(match.group(1)) * scale[match.group(2).upper()])


def _pad(value: bytes, vr: str) -> bytes:
    if len(value) % 2:
        value += b"\0" if vr == "UI" else b" "
    return value


def element(group: int, elem: int, vr: str, value) -> bytes:
    """One explicit VR little endian element (value: str, int for US/UL, bytes)."""
    if isinstance(value, str):
        value = _pad(value.encode("ascii"), vr)
    elif isinstance(value, int):
        value = struct.pack("<H" if vr == "US" else "<L", value)
    head = struct.pack("<HH", group, elem) + vr.encode("ascii")
    if vr in _SHORT_VRS:
        return head + struct.pack("<H", len(value)) + value
    return head + b"\0\0" + struct.pack("<L", len(value)) + value


def geometry(size: int):
    """(rows, columns, frames) of 16-bit frames whose total is <= size (at
    least one row of 512 pixels, 1 KiB, however small ``size`` is)."""
    if size > MAX_OW:
        raise ValueError(f"native OW pixel data is limited to {MAX_OW} bytes; "
                         f"asked for {size}")
    columns = FULL_SIDE
    rows = max(1, min(FULL_SIDE, size // (2 * columns)))
    frame = rows * columns * 2
    frames = max(1, size // frame)
    return rows, columns, frames


def header(rows: int, columns: int, frames: int, instance: str,
           encapsulated: bool = False) -> bytes:
    """Preamble, file meta and the data set up to the pixel data value
    (encapsulated: up to its first fragment, after an empty offset table)."""
    syntax = JPEG_BASELINE if encapsulated else EXPLICIT_LE
    meta_body = b"".join([
        element(0x0002, 0x0001, "OB", b"\0\1"),
        element(0x0002, 0x0002, "UI", SOP_CLASS),
        element(0x0002, 0x0003, "UI", instance),
        element(0x0002, 0x0010, "UI", syntax),
        element(0x0002, 0x0012, "UI", IMPLEMENTATION_CLASS),
        element(0x0002, 0x0013, "SH", "MAKE_BIG_FILE"),
    ])
    meta = element(0x0002, 0x0000, "UL", len(meta_body)) + meta_body
    pixel_length = rows * columns * 2 * frames
    data_set = b"".join([
        element(0x0008, 0x0016, "UI", SOP_CLASS),
        element(0x0008, 0x0018, "UI", instance),
        element(0x0008, 0x0060, "CS", "OT"),
        element(0x0010, 0x0010, "PN", "Big^File"),
        element(0x0010, 0x0020, "LO", "BIG-1"),
        element(0x0020, 0x000D, "UI", instance + ".1"),
        element(0x0020, 0x000E, "UI", instance + ".2"),
        element(0x0028, 0x0002, "US", 1),
        element(0x0028, 0x0004, "CS", "MONOCHROME2"),
        element(0x0028, 0x0008, "IS", str(frames)),
        element(0x0028, 0x0010, "US", rows),
        element(0x0028, 0x0011, "US", columns),
        element(0x0028, 0x0100, "US", 16),
        element(0x0028, 0x0101, "US", 16),
        element(0x0028, 0x0102, "US", 15),
        element(0x0028, 0x0103, "US", 0),
        struct.pack("<HH", 0x7FE0, 0x0010) + b"OW\0\0" + struct.pack("<L", pixel_length)
        if not encapsulated else
        struct.pack("<HH", 0x7FE0, 0x0010) + b"OB\0\0" + struct.pack("<L", 0xFFFFFFFF)
        + _item(0),
    ])
    return b"\0" * 128 + b"DICM" + meta + data_set


def _item(length: int) -> bytes:
    return struct.pack("<HHL", 0xFFFE, 0xE000, length)


def write_big_file(path: str, size: int, *, seed: int = 1, encapsulated: bool = False) -> dict:
    """Stream the file to ``path``; returns its geometry, size and sha256.
    ``encapsulated``: the pixel bytes as one fragment a frame (JPEG Baseline
    transfer syntax), not native OW."""
    rows, columns, frames = geometry(size)
    instance = UID_ROOT + str(seed)
    head = header(rows, columns, frames, instance, encapsulated)
    frame = rows * columns * 2
    remaining = frame * frames
    block = random.Random(seed).randbytes(min(BLOCK, remaining))
    digest = hashlib.sha256()
    with open(path, "wb") as fp:
        def put(data: bytes) -> None:
            fp.write(data)
            digest.update(data)
        put(head)
        left_in_frame = 0
        while remaining:
            if encapsulated and not left_in_frame:
                put(_item(frame))
                left_in_frame = frame
            n = min(len(block), remaining, left_in_frame if encapsulated else remaining)
            put(block if n == len(block) else block[:n])
            remaining -= n
            left_in_frame -= n
        if encapsulated:
            put(struct.pack("<HHL", 0xFFFE, 0xE0DD, 0))
    return {"path": path, "size": os.path.getsize(path), "rows": rows, "columns": columns,
            "frames": frames, "pixel_bytes": rows * columns * 2 * frames,
            "sha256": digest.hexdigest()}


# -- measuring -----------------------------------------------------------------

# Runs ``python -m MODULE ARGS`` or ``python -c CODE ARGS`` and, at exit, writes
# the process's own peak resident set (VmHWM) to the file named first. A child's
# ru_maxrss is not used: after a vfork (which subprocess uses on Linux) and exec,
# it starts from the parent's peak, so a big parent would inflate every child.
PEAK_WRAPPER = """\
import atexit, runpy, sys
out = sys.argv[1]
def _peak():
    try:
        with open('/proc/self/status') as fp:
            kib = next(int(l.split()[1]) for l in fp if l.startswith('VmHWM:'))
    except (OSError, StopIteration):
        import resource
        kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        kib //= 1024 if sys.platform == 'darwin' else 1
    with open(out, 'w') as fp:
        fp.write(str(kib))
atexit.register(_peak)
mode, target = sys.argv[2], sys.argv[3]
sys.argv = [target] + sys.argv[4:]
if mode == '-m':
    runpy.run_module(target, run_name='__main__', alter_sys=True)
else:
    sys.argv[0] = '-c'
    exec(compile(target, '<string>', 'exec'), {'__name__': '__main__'})
"""


def own_peak_bytes() -> int:
    """This process's own peak resident set in bytes: VmHWM where /proc has
    it (ru_maxrss would carry over a forking parent's peak), else ru_maxrss."""
    try:
        with open("/proc/self/status") as fp:
            return next(int(line.split()[1]) for line in fp if line.startswith("VmHWM:")) * 1024
    except (OSError, StopIteration):
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak if sys.platform == "darwin" else peak * 1024


def peak_argv(argv, peak_file: str) -> list:
    """``[python, -m|-c, target, *args]`` wrapped so the child writes its peak RSS."""
    python, mode, target, *rest = argv
    if mode not in ("-m", "-c"):
        raise ValueError("peak_argv needs python -m MODULE or python -c CODE")
    return [python, "-c", PEAK_WRAPPER, peak_file, mode, target, *rest]


def run_child(argv) -> dict:
    """Run one child process (``python -m ...`` or ``python -c ...``): its wall
    time, exit status and peak RSS in MiB (its own VmHWM; see PEAK_WRAPPER)."""
    fd, peak_file = tempfile.mkstemp(prefix="dicom2ion-peak-")
    os.close(fd)
    try:
        start = time.perf_counter()
        proc = subprocess.run(peak_argv(argv, peak_file), capture_output=True)
        seconds = time.perf_counter() - start
        with open(peak_file, encoding="ascii") as fp:
            text = fp.read().strip()
    finally:
        os.unlink(peak_file)
    return {"argv": [os.path.basename(a) if i == 0 else a for i, a in enumerate(argv)],
            "seconds": seconds, "exit": proc.returncode,
            "peak_rss_mib": int(text) / 1024 if text else 0.0,
            "stdout": proc.stdout.decode("utf-8", "replace")[-2000:],
            "stderr": proc.stderr.decode("utf-8", "replace")[-2000:]}


def sha256_file(path: str) -> float:
    start = time.perf_counter()
    digest = hashlib.sha256()
    with open(path, "rb") as fp:
        for chunk in iter(lambda: fp.read(1 << 20), b""):
            digest.update(chunk)
    return time.perf_counter() - start


def measure(path: str, *, back: bool = True, workdir: str | None = None) -> dict:
    """Convert ``path`` (and rebuild it) in child processes; see the module doc."""
    size = os.path.getsize(path)
    python = sys.executable
    workdir = workdir or os.path.dirname(os.path.abspath(path))
    ion_fd, ion_path = tempfile.mkstemp(suffix=".ion", dir=workdir)
    os.close(ion_fd)
    back_path = ion_path + ".dcm"
    results = {"file": path, "size": size}
    try:
        results["baseline"] = run_child([python, "-c", "import dicom2ion.cli"])
        results["sha256_seconds"] = sha256_file(path)
        conv = run_child([python, "-m", "dicom2ion", "convert", path, "-o", ion_path, "-q"])
        results["convert"] = conv
        if conv["exit"] != 0:
            raise RuntimeError(f"dicom2ion convert failed: {conv['stderr']}")
        results["ion_size"] = os.path.getsize(ion_path)
        if back:
            rebuilt = run_child([python, "-m", "dicom2ion", "to-dicom", ion_path,
                                 "-o", back_path, "--source", path])
            results["to_dicom"] = rebuilt
            if rebuilt["exit"] != 0:
                raise RuntimeError(f"dicom2ion to-dicom failed: {rebuilt['stderr']}")
            results["rebuilt_size"] = os.path.getsize(back_path)
            results["identical"] = "identical to the original" in rebuilt["stderr"]
    finally:
        for leftover in (ion_path, back_path):
            try:
                os.unlink(leftover)
            except OSError:
                pass
    for key in ("convert", "to_dicom"):
        if key in results:
            results[key]["mb_per_s"] = size / 1e6 / results[key]["seconds"]
    results["sha256_mb_per_s"] = size / 1e6 / results["sha256_seconds"]
    return results


def report(results: dict) -> str:
    size = results["size"]
    lines = [f"file       {results['file']}: {size:,} bytes ({size / (1 << 30):.2f} GiB)",
             f"{'':10} {'seconds':>9} {'MB/s':>9} {'peak RSS MiB':>13}",
             f"{'sha256':10} {results['sha256_seconds']:9.2f} "
             f"{results['sha256_mb_per_s']:9.1f} {'(in-process)':>13}",
             f"{'baseline':10} {results['baseline']['seconds']:9.2f} {'':>9} "
             f"{results['baseline']['peak_rss_mib']:13.1f}   (python -c 'import dicom2ion.cli')"]
    for key, label in (("convert", "convert"), ("to_dicom", "to-dicom")):
        if key in results:
            r = results[key]
            lines.append(f"{label:10} {r['seconds']:9.2f} {r['mb_per_s']:9.1f} "
                         f"{r['peak_rss_mib']:13.1f}")
    lines.append(f"Ion document: {results['ion_size']:,} bytes")
    if "identical" in results:
        lines.append(f"rebuilt file: {results['rebuilt_size']:,} bytes, "
                     f"{'identical' if results['identical'] else 'NOT identical'} to the input")
    return "\n".join(lines)


def machine() -> dict:
    return {"python": platform.python_version(), "platform": platform.platform(),
            "cpu_count": os.cpu_count(),
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", help="the P10 file to write")
    parser.add_argument("--size", type=parse_size, default=parse_size("2G"),
                        help="pixel data size, e.g. 2G, 512M, 64K (default 2G)")
    parser.add_argument("--seed", type=int, default=1, help="pixel pattern and UID seed")
    parser.add_argument("--measure", action="store_true",
                        help="convert it with dicom2ion in a child process and report peak RSS")
    parser.add_argument("--no-back", action="store_true",
                        help="with --measure: skip the to-dicom rebuild")
    parser.add_argument("--json", help="with --measure: write the numbers here")
    parser.add_argument("--remove", action="store_true", help="delete the file at the end")
    args = parser.parse_args(argv)
    try:
        geometry(args.size)
    except ValueError as exc:
        parser.error(str(exc))
    folder = os.path.dirname(os.path.abspath(args.out))
    st = os.statvfs(folder)
    need = args.size * (3 if args.measure and not args.no_back else 1) + (64 << 20)
    if st.f_bavail * st.f_frsize < need:
        print(f"make_big_file: {folder} has {st.f_bavail * st.f_frsize:,} bytes free, "
              f"needs about {need:,}", file=sys.stderr)
        return 1
    start = time.perf_counter()
    try:
        info = write_big_file(args.out, args.size, seed=args.seed)
        seconds = time.perf_counter() - start
        print(f"wrote {info['path']}: {info['size']:,} bytes, {info['frames']} frames of "
              f"{info['rows']}x{info['columns']} 16-bit, sha256 {info['sha256']} "
              f"({seconds:.1f} s)", file=sys.stderr)
        print(f"writer peak RSS {own_peak_bytes() / (1 << 20):.1f} MiB", file=sys.stderr)
        if args.measure:
            results = measure(args.out, back=not args.no_back)
            results["file_info"] = info
            results["machine"] = machine()
            print(report(results))
            if args.json:
                with open(args.json, "w", encoding="utf-8") as fp:
                    json.dump(results, fp, indent=2)
            bad = results["convert"]["exit"] != 0 or results.get("identical") is False
            return 1 if bad else 0
        return 0
    finally:
        if args.remove:
            try:
                os.unlink(args.out)
            except OSError:
                pass


if __name__ == "__main__":
    sys.exit(main())
