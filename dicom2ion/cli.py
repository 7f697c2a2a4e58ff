"""The ``dicom2ion`` command: convert, to-dicom, verify, dump."""

from __future__ import annotations

import argparse
import functools
import json
import os
import sys
from typing import List, Optional

from . import __version__
from .batch import Result, Task, run, sniff, summary, walk
from .convert import DEFAULT_INLINE_LIMIT, convert_to, to_dicom
from .errors import Dicom2IonError


def _out_path(task: Task, out: Optional[str], suffix: str, single: bool) -> str:
    if out is None:
        return task.path + suffix
    if single and not os.path.isdir(out) and not out.endswith(os.sep):
        return out
    return os.path.join(out, task.relative + suffix)


def _screen(task: Task, force: bool):
    """(a Result when the file is not to be processed, its size)."""
    if not os.path.isfile(task.path):
        return Result(task.path, "failed", 0, f"{task.path}: no such file"), 0
    size = os.path.getsize(task.path)
    if not force and not sniff(task.path):
        return Result(task.path, "skipped", size, "not a DICOM file"), size
    return None, size


def _convert_one(task: Task, *, out, single, options, binary, pretty, force,
                 fmt="ion") -> Result:
    early, size = _screen(task, force)
    if early:
        return early
    target = _out_path(task, out, ".json" if fmt == "dicom-json" else ".ion", single)
    try:
        if fmt == "dicom-json":
            from .dicom_json import write_dicom_json
            write_dicom_json(task.path, target, indent=2 if pretty else None, **options)
        else:
            convert_to(task.path, target, binary=binary, pretty=pretty, **options)
    except Dicom2IonError as exc:
        return Result(task.path, "failed", size, str(exc))
    except OSError as exc:
        return Result(task.path, "failed", size, f"{task.path}: {exc.strerror or exc}")
    return Result(task.path, "converted", size, target)


def _verify_one(task: Task, *, force) -> Result:
    from .verify import verify_file

    early, size = _screen(task, force)
    if early:
        return early
    report = verify_file(task.path)
    return Result(task.path, report["status"], size, report.get("error", ""), report)


def _jobs(value: int) -> int:
    return max(1, value if value > 0 else (os.cpu_count() or 1))


def cmd_convert(args) -> int:
    tasks = list(walk(args.paths))
    if not tasks:
        print("dicom2ion: no input files", file=sys.stderr)
        return 2
    single = len(args.paths) == 1 and not os.path.isdir(args.paths[0])
    if not single and args.output is None and any(os.path.isdir(p) for p in args.paths):
        print("dicom2ion: converting folders needs -o OUT (the folder tree is mirrored there)",
              file=sys.stderr)
        return 2
    options = {"standard_limit": args.standard_limit, "private_limit": args.private_limit,
               "inline_all": args.inline_all, "bulk_dir": args.bulk_dir}
    work = functools.partial(_convert_one, out=args.output, single=single, options=options,
                             binary=not (args.text or args.pretty), pretty=args.pretty,
                             force=args.force, fmt=args.format)
    results, seconds = run(tasks, work, jobs=_jobs(args.jobs), progress=not args.quiet,
                           label="convert")
    for r in results:
        if r.status == "failed":
            print(f"FAILED   {r.message}", file=sys.stderr)
        elif r.status == "skipped" and not args.quiet:
            print(f"skipped  {r.path}: {r.message}", file=sys.stderr)
        elif args.verbose:
            print(f"ok       {r.path} -> {r.message}")
    print(summary(results, seconds, ("converted", "skipped", "failed")), file=sys.stderr)
    return 1 if any(r.status == "failed" for r in results) else 0


def cmd_to_dicom(args) -> int:
    try:
        result = to_dicom(args.input, args.output, source=args.source, bulk_dir=args.bulk_dir,
                          canonical=args.canonical, transfer_syntax=args.transfer_syntax)
    except Dicom2IonError as exc:
        print(f"dicom2ion: {args.input}: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"dicom2ion: {exc}", file=sys.stderr)
        return 1
    state = "identical to the original" if result["identical"] else (
        "canonical" if args.canonical else "written")
    print(f"{args.output}: {result['size']} bytes, sha256 {result['sha256']} ({state})",
          file=sys.stderr)
    return 0


def cmd_verify(args) -> int:
    tasks = list(walk(args.paths))
    if not tasks:
        print("dicom2ion: no input files", file=sys.stderr)
        return 2
    work = functools.partial(_verify_one, force=args.force)
    results, seconds = run(tasks, work, jobs=_jobs(args.jobs), progress=not args.quiet,
                           label="verify")
    kinds = {}
    for r in results:
        if r.status == "identical":
            if args.verbose:
                print(f"identical  {r.path}")
        elif r.status == "skipped":
            if not args.quiet:
                print(f"skipped    {r.path}: {r.message}")
        elif r.status == "failed":
            print(f"failed     {r.message or r.path}")
            kinds["unreadable"] = kinds.get("unreadable", 0) + 1
        else:
            print(f"different  {r.path}")
            for d in r.detail["differences"]:
                kinds[d["kind"]] = kinds.get(d["kind"], 0) + 1
                where = f" at offset {d['offset']}" if d["offset"] is not None else ""
                print(f"    {d['kind']:<14} {d['path'] or '-'}{where}: {d['detail']}")
    if kinds:
        print("differences by kind:")
        for kind, count in sorted(kinds.items(), key=lambda kv: -kv[1]):
            print(f"    {kind:<14} {count}")
    line = summary(results, seconds, ("identical", "different", "failed", "skipped"))
    print(line)
    if args.json:
        payload = {
            "summary": {s: sum(1 for r in results if r.status == s)
                        for s in ("identical", "different", "failed", "skipped")},
            "seconds": seconds,
            "files": [r.detail if r.detail is not None else
                      {"path": r.path, "status": r.status, "size": r.size, "error": r.message}
                      for r in results],
        }
        from .convert import atomic_output

        with atomic_output(args.json) as fp:
            fp.write(json.dumps(payload, indent=2, default=str).encode("utf-8"))
    return 0 if all(r.status in ("identical", "skipped") for r in results) else 1


def cmd_dump(args) -> int:
    from .listing import dump_lines
    from .p10.source import iter_events

    try:
        for line in dump_lines(iter_events(args.file), width=args.width):
            print(line)
    except Dicom2IonError as exc:
        print(f"dicom2ion: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        return 0
    except OSError as exc:
        print(f"dicom2ion: {exc}", file=sys.stderr)
        return 1
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dicom2ion", description="Lossless DICOM Part 10 <-> Amazon Ion conversion.")
    parser.add_argument("--version", action="version", version=f"dicom2ion {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("convert", help="convert P10 files or folders to Ion")
    p.add_argument("paths", nargs="+", help="files and/or folders (searched recursively)")
    p.add_argument("-o", "--output", help="output file (one input) or folder (tree mirrored)")
    p.add_argument("--text", action="store_true", help="write compact text Ion (default binary)")
    p.add_argument("--pretty", action="store_true", help="write indented text Ion (slower)")
    p.add_argument("-j", "--jobs", type=int, default=1, help="parallel processes (0 = all cores)")
    p.add_argument("--bulk-dir", help="also store every referenced value in this folder, "
                                      "named by sha256")
    p.add_argument("--inline-all", action="store_true", help="inline every value, no references")
    p.add_argument("--standard-limit", type=int, default=DEFAULT_INLINE_LIMIT,
                   help="longest standard value kept inline (bytes)")
    p.add_argument("--private-limit", type=int, default=DEFAULT_INLINE_LIMIT,
                   help="longest private value kept inline (bytes)")
    p.add_argument("--force", action="store_true", help="try files that do not look like DICOM")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar, no skip lines")
    p.add_argument("-v", "--verbose", action="store_true", help="a line per converted file")
    p.add_argument("--format", choices=("ion", "dicom-json"), default="ion",
                   help="ion (default) or dicom-json (PS3.18 DICOM JSON, NAME.json)")
    p.set_defaults(func=cmd_convert)

    p = sub.add_parser("to-dicom", help="rebuild a P10 file from Ion")
    p.add_argument("input", help="the Ion document (binary or text)")
    p.add_argument("-o", "--output", required=True, help="the P10 file to write")
    p.add_argument("--source", help="the original P10 file (default: sourceInfo.uri)")
    p.add_argument("--bulk-dir", action="append", help="folder of values named by sha256")
    p.add_argument("--canonical", action="store_true",
                   help="write a clean file from the values alone (for edited Ion)")
    p.add_argument("--transfer-syntax", help="with --canonical: the native transfer syntax UID")
    p.set_defaults(func=cmd_to_dicom)

    p = sub.add_parser("verify", help="round-trip files and report any difference")
    p.add_argument("paths", nargs="+", help="files and/or folders (searched recursively)")
    p.add_argument("-j", "--jobs", type=int, default=0, help="parallel processes (0 = all cores)")
    p.add_argument("--json", help="write a JSON report here")
    p.add_argument("--force", action="store_true", help="try files that do not look like DICOM")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar, no skip lines")
    p.add_argument("-v", "--verbose", action="store_true", help="a line per identical file too")
    p.set_defaults(func=cmd_verify)

    p = sub.add_parser("dump", help="print a file's element tree")
    p.add_argument("file")
    p.add_argument("--width", type=int, default=64, help="longest value text shown")
    p.set_defaults(func=cmd_dump)
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except KeyboardInterrupt:
        print("dicom2ion: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
