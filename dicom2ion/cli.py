"""The ``dicom2ion`` command: convert, to-dicom, verify, dump.

Argument checks, the plan (inputs, outputs, resume) and what is printed;
the work itself runs in ``engine.run_batch`` on an executor."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from typing import Dict, List, Optional

from ._version import __version__
from . import engine, executors, manifest as manifest_mod, storage
from .batch import Entry, Note, PlanError, check_plan, ion_target_name, output_for, walk
from .convert import DEFAULT_INLINE_LIMIT
from .errors import Dicom2IonError
from .outputs import OutputError, atomic_output
from .p10.syntax import DEFLATED_LE, EXPLICIT_BE, EXPLICIT_LE, IMPLICIT_LE

NATIVE_SYNTAXES = (IMPLICIT_LE, EXPLICIT_LE, EXPLICIT_BE, DEFLATED_LE)
OK_STATUSES = ("converted", "damaged", "unchanged", "skipped", "identical")


class UsageError(Exception):
    """Options that make no sense together; the message says why."""


def _non_negative(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value} is negative; give 0 or more")
    return value


def _jobs(text: str) -> int:
    value = _non_negative(text)
    return value or executors.default_jobs()


def _pair(text: str):
    old, sep, new = text.partition("=")
    if not sep or not old or not new:
        raise argparse.ArgumentTypeError(f"{text!r}: give OLD=NEW (two folder paths)")
    return (_abs(old), _abs(new))


def _abs(path: str) -> str:
    """An absolute path; a URL (``s3://...``) as it is."""
    return path if storage.is_url(path) else os.path.abspath(path)


# -- planning -----------------------------------------------------------------------------

def _entries(args, out: Optional[str], excluded: List[str]):
    entries: List[Entry] = []
    notes: List[Note] = []
    roots = args.paths
    for item in walk(roots, keep_root_names=len(roots) > 1, exclude=excluded):
        (entries if isinstance(item, Entry) else notes).append(item)
    return entries, notes


def _stat(path: str):
    if path == "-":
        return 0, 0
    try:
        return storage.stat_ns(path)
    except OSError:
        return 0, 0


def _plan(args, command: str, options: dict, rename, *, out: Optional[str],
          others: Dict[str, str], resume: bool):
    """Tasks and ready rows, the manifest, the totals; refuses bad plans."""
    single = len(args.paths) == 1 and (args.paths[0] == "-" or not storage.isdir(args.paths[0]))
    if out is not None and not single and storage.exists(out) and not storage.isdir(out):
        raise UsageError(f"-o {out}: several inputs need a folder, and {out} is a file")
    if out == "-" and not single:
        raise UsageError("-o - (stdout) takes one input file")
    excluded = [p for p in [out if out and out != "-" else None, *others.values()] if p]
    entries, notes = _entries(args, out, excluded)
    if not entries and not notes:
        raise UsageError("no input files")
    if "-" in args.paths and len(args.paths) > 1:
        raise UsageError("- (stdin) must be the only input")
    targets = [output_for(e, out, single, rename) if command != "verify" else None
               for e in entries]
    check_plan(entries, targets, args.paths, others)
    run_id = manifest_mod.new_run_id()
    manifest_path = getattr(args, "manifest", None)
    if manifest_path is None and out not in (None, "-") and not single:
        manifest_path = manifest_mod.default_path(out)
    previous = manifest_mod.Latest()
    if resume and manifest_path and not args.overwrite:
        try:
            previous = manifest_mod.latest(manifest_path)
        except Exception as exc:  # an unreadable manifest must not stop a run
            print(f"dicom2ion: not resuming, cannot read the manifest {manifest_path}: {exc}",
                  file=sys.stderr)
    frozen = engine.freeze_options(options)
    options_json = engine.options_text(frozen)
    items: List[object] = []
    total = 0
    for seq, (entry, target) in enumerate(zip(entries, targets)):
        size, mtime = (entry.size, entry.mtime_ns) if entry.size >= 0 else _stat(entry.path)
        source = _abs(entry.path) if entry.path != "-" else "-"
        output = _abs(target) if target not in (None, "-") else target
        original = None
        if command != "convert":
            original = getattr(args, "source", None)
        task = engine.Task(seq=seq, command=command, source=source, output=output,
                           size=size, mtime_ns=mtime, relative=entry.relative, options=frozen,
                           original=original, run_id=run_id)
        old = previous.get(source)
        if old is not None and _reusable(old, task, options_json, command):
            if args.checksum:
                task = _with_previous(task, old)
            elif old["size"] == size and old["mtime_ns"] == mtime:
                row = dict(old)
                row.update(status="unchanged", run=run_id, seq=seq, error=None, seconds=0.0,
                           relative=entry.relative)
                items.append(row)
                total += size
                continue
        items.append(task)
        total += size
    for note in notes:
        row = engine.empty_row(engine.Task(seq=-1, command=command, source=note.path,
                                           output=None, options=frozen, run_id=run_id))
        row.update(status=note.status, error=note.message, seq=-1)
        items.insert(0, row)
    writer = None
    if manifest_path:
        writer = manifest_mod.ManifestWriter(manifest_path, run_id)
    return items, writer, total, len(entries) + len(notes)


def _reusable(old: dict, task: engine.Task, options_json: str, command: str) -> bool:
    if old.get("command") != command or old.get("options") != options_json:
        return False
    if old.get("status") not in ("converted", "damaged", "unchanged"):
        return False
    output = old.get("output")
    if not output or output != task.output or not storage.isfile(output):
        return False
    return old.get("output_size") is None or storage.getsize(output) == old["output_size"]


def _with_previous(task: engine.Task, old: dict) -> engine.Task:
    import dataclasses

    keep = tuple(sorted((k, v) for k, v in old.items() if not isinstance(v, (list, dict))))
    return dataclasses.replace(task, previous=keep)


def _executor(args, name: str):
    options = {}
    if args.scheduler:
        if args.engine != "dask":
            raise UsageError("--scheduler is for --engine dask")
        if name == "dask":
            options["scheduler"] = args.scheduler
    try:
        return executors.make(name, jobs=args.jobs, **options)
    except (ImportError, RuntimeError) as exc:
        raise UsageError(f"--engine {name}: {exc}") from None


def _progress(args) -> bool:
    return not args.quiet and sys.stderr.isatty()


def _finish(outcome, statuses, args, stream=None) -> None:
    stream = stream or sys.stderr
    print(engine.summary(outcome, statuses, ("damaged", "unchanged")), file=stream, flush=True)
    if outcome.manifest:
        print(f"manifest: {outcome.manifest}", file=stream, flush=True)


def _exit_code(outcome, ok=OK_STATUSES) -> int:
    if outcome.interrupted:
        return 130
    return 0 if all(status in ok for status, n in outcome.counts.items() if n) else 1


def _run(args, command, options, rename, *, out, others, resume, on_row, label,
         keep_rows=False):
    items, writer, total, count = _plan(args, command, options, rename, out=out,
                                        others=others, resume=resume)
    tasks = sum(1 for item in items if isinstance(item, engine.Task))
    engine_name = args.engine
    if engine_name == "process" and (tasks <= 1 or "-" in args.paths):
        engine_name = "serial"   # one file (or stdin, which workers cannot read): no pool
    elif "-" in args.paths:
        engine_name = "serial"   # stdin: only this process can read it
    executor = _executor(args, engine_name)
    outcome = engine.run_batch(items, executor, on_row=on_row, total_bytes=total,
                               total_files=count, progress=_progress(args), label=label,
                               manifest=writer, keep_rows=keep_rows)
    if writer is not None and not outcome.interrupted:
        writer.drop_older_runs()
    return outcome


# -- commands ---------------------------------------------------------------------------

def cmd_convert(args) -> int:
    if args.inline_all and args.bulk_dir:
        raise UsageError("--inline-all keeps every value in the Ion, so --bulk-dir would "
                         "stay empty; give one or the other")
    if args.text and args.pretty:
        raise UsageError("--text and --pretty: give one")
    streams = [p for p in args.paths if p == "-" or (
        not storage.is_url(p) and os.path.exists(p) and not os.path.isdir(p)
        and not os.path.isfile(p))]
    if streams and not (args.bulk_dir or args.inline_all):
        raise UsageError(f"converting {streams[0]} (a stream, read once): long values would "
                         "point into bytes that are gone; add --bulk-dir DIR or --inline-all")
    if args.output is None and any(p == "-" or storage.isdir(p) for p in args.paths):
        raise UsageError("converting folders or stdin needs -o OUT (the folder tree is "
                         "mirrored there)")
    options = {"standard_limit": args.standard_limit, "private_limit": args.private_limit,
               "inline_all": args.inline_all,
               "bulk_dir": _abs(args.bulk_dir) if args.bulk_dir else None,
               "text": args.text, "pretty": args.pretty, "reproducible": args.reproducible,
               "force": args.force, "strict": args.strict, **_dictionary_options(args)}
    if args.format != "ion":
        options["format"] = args.format
    suffix = ".json" if args.format == "dicom-json" else ".ion"

    def on_row(row, write):
        status = row["status"]
        if status == "failed":
            write(f"FAILED   {row['error']}", sys.stderr)
        elif status == "damaged":
            write(f"damaged  {row['source']}: {row['error']}", sys.stderr)
        elif status == "skipped" and not args.quiet:
            write(f"skipped  {row['source']}: {row['error']}", sys.stderr)
        elif args.verbose:
            write(f"{status:<8} {row['source']} -> {row['output']}", sys.stderr)

    outcome = _run(args, "convert", options, lambda p: p + suffix, out=args.output,
                   others={"--bulk-dir": args.bulk_dir, "--manifest": args.manifest},
                   resume=True, on_row=on_row, label="convert")
    _finish(outcome, ("converted", "damaged", "unchanged", "skipped", "failed"), args)
    return _exit_code(outcome)


def cmd_to_dicom(args) -> int:
    if args.transfer_syntax and not args.canonical:
        raise UsageError("--transfer-syntax only applies with --canonical (exact mode "
                         "rebuilds the original encoding)")
    if args.transfer_syntax and args.transfer_syntax not in NATIVE_SYNTAXES:
        raise UsageError(f"--transfer-syntax {args.transfer_syntax}: give a native syntax "
                         f"({', '.join(NATIVE_SYNTAXES)}); dicom2ion does not compress or "
                         "decompress pixel data")
    if args.source and (len(args.paths) > 1 or storage.isdir(args.paths[0])):
        raise UsageError("--source names one original; for folders use --source-root OLD=NEW")
    options = {"bulk_dir": [_abs(d) for d in args.bulk_dir or ()],
               "canonical": args.canonical, "transfer_syntax": args.transfer_syntax,
               "source_root": [list(p) for p in args.source_root or ()]}
    single = len(args.paths) == 1 and not storage.isdir(args.paths[0])

    def on_row(row, write):
        status = row["status"]
        if status == "failed":
            write(f"FAILED   {row['error']}", sys.stderr)
        elif status == "skipped" and not args.quiet:
            write(f"skipped  {row['source']}: {row['error']}", sys.stderr)
        elif single and status in ("converted", "damaged"):
            state = "identical to the original" if row.get("output_sha256") == row["sha256"] \
                else ("canonical" if args.canonical else "written")
            write(f"{row['output']}: {row['output_size']} bytes, sha256 "
                  f"{row['output_sha256']} ({state})", sys.stderr)
        elif args.verbose:
            write(f"{status:<8} {row['source']} -> {row['output']}", sys.stderr)

    outcome = _run(args, "to-dicom", options, ion_target_name, out=args.output,
                   others={"--manifest": args.manifest}, resume=True, on_row=on_row,
                   label="to-dicom")
    if not single or outcome.interrupted or args.verbose:
        _finish(outcome, ("converted", "damaged", "unchanged", "skipped", "failed"), args)
    return _exit_code(outcome)


def cmd_verify(args) -> int:
    report = atomic_output(args.json) if args.json else None   # fails now, not after the work
    options = {"bulk_dir": [_abs(d) for d in args.bulk_dir or ()],
               "source_root": [list(p) for p in args.source_root or ()],
               "force": args.force, "strict": args.strict, **_dictionary_options(args)}
    kinds: Dict[str, int] = {}
    out = sys.stdout

    def on_row(row, write):
        status = row["status"]
        damage = f" (damaged: {engine.problems(row['damage'])})" if row.get("damage") else ""
        if status == "identical":
            if args.verbose or damage:
                write(f"identical  {row['source']}{damage}", out)
        elif status == "skipped":
            if not args.quiet:
                write(f"skipped    {row['source']}: {row['error']}", out)
        elif status == "failed":
            write(f"failed     {row['error'] or row['source']}", out)
            kinds["unreadable"] = kinds.get("unreadable", 0) + 1
        else:
            write(f"different  {row['source']}{damage}", out)
            differences = json.loads(row["differences"]) if row.get("differences") else []
            if not differences and row.get("error"):
                differences = [{"kind": "structure", "path": "", "offset": None,
                                "detail": row["error"]}]
            for d in differences:
                kinds[d["kind"]] = kinds.get(d["kind"], 0) + 1
                where = f" at offset {d['offset']}" if d["offset"] is not None else ""
                write(f"    {d['kind']:<14} {d['path'] or '-'}{where}: {d['detail']}", out)

    try:
        outcome = _run(args, "verify", options, lambda p: p, out=None,
                       others={"--json": args.json, "--manifest": args.manifest}, resume=False,
                       on_row=on_row, label="verify", keep_rows=report is not None)
    except BaseException:
        if report is not None:
            report.abort()
        raise
    if kinds:
        print("differences by kind:", file=out)
        for kind, count in sorted(kinds.items(), key=lambda kv: -kv[1]):
            print(f"    {kind:<14} {count}", file=out)
    _finish(outcome, ("identical", "different", "failed", "skipped"), args, out)
    if report is not None:
        statuses = ("identical", "different", "failed", "skipped")
        payload = {
            "summary": {s: outcome.counts.get(s, 0) for s in statuses},
            "damaged": outcome.damaged,
            "interrupted": outcome.interrupted,
            "seconds": outcome.seconds,
            "files": [_json_row(r) for r in outcome.rows],
        }
        with report as fp:
            fp.write(json.dumps(payload, indent=2, default=str).encode("utf-8"))
    return _exit_code(outcome, ("identical", "skipped"))


def _json_row(row: dict) -> dict:
    out = {"path": row["source"], "status": row["status"], "size": row["size"],
           "sha256": row["sha256"], "error": row["error"], "damage": row.get("damage") or 0}
    out["differences"] = json.loads(row["differences"]) if row.get("differences") else []
    out["checks"] = json.loads(row["checks"]) if row.get("checks") else {}
    return out


def _dictionary(args):
    """The dictionary of ``--dictionary`` (built-in when none), read now so a
    bad file stops the command before any work."""
    from .dictionary import DictionaryError, load_dictionary
    try:
        return load_dictionary(args.dictionary or ())
    except DictionaryError as exc:
        raise UsageError(f"--dictionary: {exc}") from None


def _dictionary_options(args) -> dict:
    """The convert/verify options of ``--dictionary``: the paths, and the
    merged dictionary's digest (so that a resume sees a changed file)."""
    if not args.dictionary:
        return {}
    merged = _dictionary(args)
    return {"dictionary": [os.path.abspath(p) for p in args.dictionary],
            "dictionary_sha256": merged.sha256}


def _dump_tag(text: str, dictionary=None) -> int:
    from .dictionary import BUILTIN
    from .typed import parse_tag
    tag = parse_tag(text if len(text) != 9 or "," not in text else f"({text})")
    if tag is None:
        tag = (dictionary or BUILTIN).tag_for_keyword(text)
    if tag is None:
        raise UsageError(f"--tag {text}: not a keyword or a tag (gggg,eeee or GGGGEEEE)")
    return tag


def cmd_dump(args) -> int:
    from .listing import dump_lines
    from .p10.source import iter_events

    dictionary = _dictionary(args)
    tags = {_dump_tag(t, dictionary) for t in args.tag} if args.tag else None
    status = 0
    for path in args.files:
        if len(args.files) > 1:
            print(f"# {path}")
        try:
            for line in dump_lines(iter_events(path, strict=args.strict), width=args.width,
                                   tags=tags,
                                   top_level=args.top_level, dictionary=dictionary):
                print(line)
        except Dicom2IonError as exc:
            print(f"dicom2ion: {exc}", file=sys.stderr)
            status = 1
        except OSError as exc:
            if isinstance(exc, BrokenPipeError):
                raise
            print(f"dicom2ion: {exc}", file=sys.stderr)
            status = 1
    return status


# -- the parser --------------------------------------------------------------------------

def _dictionary_option(p) -> None:
    p.add_argument("--dictionary", action="append", metavar="PATH",
                   help="a data dictionary merged over the built-in one (repeatable, later "
                        "wins): a newer PS3.6 edition as its JSON extract or DocBook XML, or "
                        "a DCMTK .dic file (a site's private dictionary)")


def _batch_options(p, *, manifest_help: str) -> None:
    p.add_argument("-j", "--jobs", type=_jobs, default=executors.default_jobs(),
                   help="parallel workers (default: all cores; 0 = all cores)")
    p.add_argument("--engine", default="process", choices=executors.names(),
                   help="where the work runs (default: a process pool; dask: a Dask cluster)")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="with --engine dask: the scheduler (tcp://host:8786, or a scheduler "
                        "file); default: a local cluster of --jobs workers")
    p.add_argument("--manifest", help=manifest_help)
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar, no skip lines")
    p.add_argument("-v", "--verbose", action="store_true", help="a line per file")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dicom2ion", description="Lossless DICOM Part 10 <-> Amazon Ion conversion.")
    parser.add_argument("--version", action="version", version=f"dicom2ion {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("convert", help="convert P10 files or folders to Ion")
    p.add_argument("paths", nargs="+", help="files and/or folders (searched recursively); "
                                            "- reads stdin")
    p.add_argument("-o", "--output", help="output file (one input; - = stdout) or folder "
                                          "(trees mirrored; several roots keep their names)")
    p.add_argument("--text", action="store_true", help="write compact text Ion (default binary)")
    p.add_argument("--pretty", action="store_true", help="write indented text Ion (slower)")
    p.add_argument("--bulk-dir", help="also store every referenced value in this folder, "
                                      "named by sha256")
    p.add_argument("--inline-all", action="store_true", help="inline every value, no references")
    p.add_argument("--standard-limit", type=_non_negative, default=DEFAULT_INLINE_LIMIT,
                   help="longest standard value kept inline (bytes)")
    p.add_argument("--private-limit", type=_non_negative, default=DEFAULT_INLINE_LIMIT,
                   help="longest private value kept inline (bytes)")
    p.add_argument("--overwrite", action="store_true",
                   help="convert everything again (default: skip files unchanged since the "
                        "manifest's run)")
    p.add_argument("--checksum", action="store_true",
                   help="decide 'unchanged' by sha256 instead of size and mtime")
    p.add_argument("--reproducible", action="store_true",
                   help="no conversion time in the Ion: the same input gives the same bytes")
    p.add_argument("--strict", action="store_true", help="refuse damaged files")
    p.add_argument("--force", action="store_true", help="try files that do not look like DICOM")
    _batch_options(p, manifest_help="Parquet manifest folder (default: "
                                    "OUT/dicom2ion-manifest.parquet when OUT is a folder)")
    p.add_argument("--format", choices=("ion", "dicom-json"), default="ion",
                   help="ion (default) or dicom-json (PS3.18 DICOM JSON, NAME.json)")
    _dictionary_option(p)
    p.set_defaults(func=cmd_convert)

    p = sub.add_parser("to-dicom", help="rebuild P10 files from Ion")
    p.add_argument("paths", nargs="+", metavar="input",
                   help="Ion documents (binary or text) and/or folders of them; - reads stdin")
    p.add_argument("-o", "--output", required=True,
                   help="the P10 file to write (one input; - = stdout) or a folder")
    p.add_argument("--source", help="the original P10 file (default: sourceInfo.uri)")
    p.add_argument("--source-root", action="append", type=_pair, metavar="OLD=NEW",
                   help="the originals moved: read sourceInfo paths under OLD from NEW")
    p.add_argument("--bulk-dir", action="append", help="folder of values named by sha256")
    p.add_argument("--canonical", action="store_true",
                   help="write a clean file from the values alone (for edited Ion)")
    p.add_argument("--transfer-syntax", help="with --canonical: the native transfer syntax UID")
    p.add_argument("--overwrite", action="store_true", help="rebuild everything again")
    p.add_argument("--checksum", action="store_true",
                   help="decide 'unchanged' by sha256 instead of size and mtime")
    _batch_options(p, manifest_help="Parquet manifest folder (default: "
                                    "OUT/dicom2ion-manifest.parquet when OUT is a folder)")
    p.set_defaults(func=cmd_to_dicom)

    p = sub.add_parser("verify", help="round-trip P10 files, or audit Ion files, and report")
    p.add_argument("paths", nargs="+", help="P10 or Ion files and/or folders")
    p.add_argument("--bulk-dir", action="append",
                   help="for Ion inputs: folder of values named by sha256")
    p.add_argument("--source-root", action="append", type=_pair, metavar="OLD=NEW",
                   help="for Ion inputs: the originals moved from OLD to NEW")
    p.add_argument("--json", help="write a JSON report here")
    p.add_argument("--strict", action="store_true", help="count damaged files as failed")
    p.add_argument("--force", action="store_true", help="try files that do not look like DICOM")
    _batch_options(p, manifest_help="write a Parquet manifest folder here")
    _dictionary_option(p)
    p.set_defaults(func=cmd_verify)

    p = sub.add_parser("dump", help="print files' elements, like dcmdump")
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("--width", type=int, default=64, help="longest value text shown "
                                                         "(UIDs are shown in full)")
    p.add_argument("--tag", action="append", metavar="TAG",
                   help="only this top-level attribute (keyword, gggg,eeee or GGGGEEEE; "
                        "repeatable); reading stops after the last one")
    p.add_argument("--top-level", action="store_true",
                   help="leave out the contents of sequences")
    p.add_argument("--strict", action="store_true",
                   help="stop at the first problem of a damaged file with an error, instead "
                        "of listing what can be read with the problems and the raw bytes "
                        "where they are")
    _dictionary_option(p)
    p.set_defaults(func=cmd_dump)
    return parser


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def main(argv: Optional[List[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    if argv is None and getattr(args, "engine", None) != "dask":
        # the dicom2ion program itself (not a call from Python code): its process
        # needs no numpy (manifest.PYARROW_WITHOUT_NUMPY); a Dask client might
        manifest_mod.PYARROW_WITHOUT_NUMPY = True
    previous = None
    try:
        previous = signal.signal(signal.SIGTERM, _interrupt)
    except ValueError:   # not the main thread
        pass
    try:
        return args.func(args)
    except (UsageError, PlanError, OutputError) as exc:
        print(f"dicom2ion {args.command}: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("dicom2ion: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # the reader went away (``| head``): stop quietly
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        except (OSError, ValueError):
            pass
        return 141
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":
    sys.exit(main())
