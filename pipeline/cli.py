"""`scrubline` commands: thin wrappers over pipeline.run, pipeline.retention and pipeline.demo.

Every error a user can cause ends in one line on stderr that names the file, row or setting (exit code 2);
anything else is a bug, reported by its type only unless -v is given (exit code 1).
"""

from __future__ import annotations

import argparse
import errno
import logging
import os
import re
import sys
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import NoReturn

from pipeline.errors import UserError
from pipeline.pseudonym import create_key_file

DEMO_DS = "2026-11-26"
PRIVATE_UMASK = 0o077  # whatever a library writes on its own (temporary files, caches) is the user's only


class _Parser(argparse.ArgumentParser):
    """argparse, with its errors on one line like every other error of this command."""

    def error(self, message: str) -> NoReturn:
        print(f"{self.prog}: error: {message} (see {self.prog} -h)", file=sys.stderr)
        sys.exit(2)


def main(argv: list[str] | None = None) -> int:
    os.umask(PRIVATE_UMASK)
    parser = _parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")
    level = {0: logging.WARNING, 1: logging.INFO}.get(args.verbose, logging.DEBUG)
    logging.getLogger("scrubline").setLevel(level)
    try:
        return args.handler(args)
    except UserError as exc:
        print(f"scrubline: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # disk full, read-only or missing folders: the path and the system's reason
        print(f"scrubline: error: {_os_error(exc)}", file=sys.stderr)
        return 2
    except Exception as exc:  # never print a message that might quote input data
        print(f"scrubline: error: unexpected {type(exc).__name__}; re-run with -v for the trace", file=sys.stderr)
        if args.verbose:
            raise
        return 1


def _os_error(exc: OSError) -> str:
    name = errno.errorcode.get(exc.errno or 0, "")
    where = " -> ".join(str(f) for f in (exc.filename, exc.filename2) if f is not None)
    reason = exc.strerror or type(exc).__name__
    return f"{reason}{f' ({name})' if name else ''}{f': {where}' if where else ''}; nothing was published"


def _date(value: str) -> str:
    """A night's date argument: a real calendar date written YYYY-MM-DD (it ends up in folder names)."""
    try:
        parsed = datetime.strptime(value, "%Y-%m-%d")
    except ValueError:
        raise argparse.ArgumentTypeError("must be a calendar date written YYYY-MM-DD") from None
    if parsed.strftime("%Y-%m-%d") != value:
        raise argparse.ArgumentTypeError("must be a calendar date written YYYY-MM-DD")
    return value


def _version(value: str) -> str:
    """A night's version id as publishing names it (it ends up in an error message)."""
    if not re.fullmatch(r"v-[0-9a-f]{16}(\.\d{1,3})?", value):
        raise argparse.ArgumentTypeError("must be a version id such as v-0123456789abcdef")
    return value


def _positive_int(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError("must be a whole number") from None
    if number < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return number


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="scrubline", description=__doc__)
    parser.add_argument("-v", "--verbose", action="count", default=0, help="log progress (counts only); -vv: debug")
    sub = parser.add_subparsers(required=True, metavar="COMMAND", parser_class=_Parser)

    gen = sub.add_parser("generate", help="write a realistic synthetic raw night (0600 files in 0700 folders)")
    gen.add_argument("--ds", required=True, type=_date, help="night to generate, YYYY-MM-DD")
    gen.add_argument("--out", required=True, type=Path, help="raw root to write under")
    gen.add_argument("--employees", type=_positive_int, default=50)
    gen.add_argument("--seed", type=int, default=0)
    gen.set_defaults(handler=_generate)

    run = sub.add_parser("run", help="scrub, validate and publish one night for every source present")
    run.add_argument("--ds", required=True, type=_date, help="night to process, YYYY-MM-DD")
    _add_night_options(run)
    run.set_defaults(handler=_run)

    rekey = sub.add_parser(
        "rekey", help="re-pseudonymise published nights from raw with a new HMAC key (key rotation)"
    )
    rekey.add_argument("--ds", required=True, type=_date, help="first night to re-pseudonymise, YYYY-MM-DD")
    rekey.add_argument("--to", type=_date, help="last night (default: only --ds)")
    _add_night_options(rekey)
    rekey.set_defaults(handler=_rekey)

    keep = sub.add_parser("retention", help="delete raw and quarantine partitions past the policy's retention")
    keep.add_argument("--raw", required=True, help="raw root (a folder or a URL)")
    keep.add_argument("--clean", required=True, help="clean root (a night must be published there; a folder or a URL)")
    keep.add_argument("--quarantine", help="quarantine root; default <raw>/_quarantine")
    keep.add_argument("--policy", type=Path, help="policy YAML; default: the shipped policy")
    keep.add_argument("--today", type=_date, help="count days back from this date (default: today)")
    keep.add_argument("--dry-run", action="store_true", help="only list what would be deleted")
    keep.set_defaults(handler=_retention)

    ev = sub.add_parser("eval", help="leak recall of the nightly text path on labelled JSONL sets")
    ev.add_argument("sets", nargs="+", type=Path, help="labelled sets: {text, spans: [{start, end, label}]} per line")
    ev.add_argument("--roster", type=Path, help="employee directory for roster matching")
    ev.add_argument("--policy", type=Path, help="policy YAML; default: the shipped policy")
    ev.add_argument("--limit", type=_positive_int, help="only the first N records of each set")
    ev.add_argument("--json", action="store_true", help="print JSON instead of a table")
    ev.set_defaults(handler=_eval)

    reid = sub.add_parser("reid", help="how well typing rhythm and mouse movements re-identify users in published events (aggregates only)")
    reid.add_argument("events", type=Path, help="published events: a Parquet file or a folder of them (e.g. <clean>/events)")
    reid.add_argument("--policy", type=Path, help="policy YAML whose reid section sets the minimums and threshold")
    reid.add_argument("--json", action="store_true", help="print JSON instead of lines")
    reid.set_defaults(handler=_reid)

    rep = sub.add_parser("report", help="rebuild a night's privacy report, or show the trend of recent nights")
    rep.add_argument("--clean", required=True, type=Path, help="clean root the nights were published under")
    which = rep.add_mutually_exclusive_group(required=True)
    which.add_argument("--ds", type=_date, help="night to rebuild, YYYY-MM-DD")
    which.add_argument("--last", type=_positive_int, help="show the last N nights' key figures in the terminal")
    rep.set_defaults(handler=_report)

    sign = sub.add_parser(
        "signoff", help="record a reviewer's approval or rejection of a night (an approval publishes a held night)"
    )
    sign.add_argument("--clean", required=True, type=Path, help="clean root the night was published under")
    sign.add_argument("--ds", required=True, type=_date, help="night to sign, YYYY-MM-DD")
    sign.add_argument("--reviewer", required=True, help="who decides (an operator-supplied name, stored in the log)")
    sign.add_argument("--reject", action="store_true", help="reject the night (needs --reason)")
    sign.add_argument("--reason", help="why the night is rejected (one line)")
    sign.add_argument("--note", help="a remark kept with the decision (one line)")
    sign.add_argument(
        "--version", type=_version, help="the version you reviewed (v-…): refuse if the night's version to sign is another"
    )
    sign.add_argument("--policy", type=Path, help="policy YAML (modes of the log); default: the shipped policy")
    sign.set_defaults(handler=_signoff)

    dag = sub.add_parser("dag", help="print where the Airflow DAG file shipped in this package is, or copy it")
    dag.add_argument("--copy-to", type=Path, metavar="DAGS_FOLDER", help="copy the DAG file into this DAGs folder")
    dag.set_defaults(handler=_dag)

    demo = sub.add_parser("demo", help="generate and scrub a demo night under ./demo/")
    demo.add_argument("--dir", type=Path, default=Path("demo"))
    demo.add_argument("--employees", type=_positive_int, default=50)
    demo.add_argument("--airflow", action="store_true", help="run the night through the real Airflow DAG")
    _add_run_options(demo)
    demo.set_defaults(handler=_demo)
    return parser


def _add_night_options(parser: argparse.ArgumentParser) -> None:
    # Roots are folders or URLs (s3://bucket/prefix; credentials and endpoint from the environment).
    parser.add_argument("--raw", required=True, help="raw root: <raw>/<source>/ds=YYYY-MM-DD/ (a folder or a URL)")
    parser.add_argument("--clean", required=True, help="clean root for shards, manifests and reports (a folder or a URL)")
    parser.add_argument("--roster", help="employee directory (JSONL or CSV); default <raw>/roster.jsonl")
    parser.add_argument("--policy", type=Path, help="policy YAML; default: the shipped policy")
    parser.add_argument("--quarantine", help="where rejected rows go (a folder or a URL); default <raw>/_quarantine")
    parser.add_argument(
        "--staging", type=Path,
        help="private local work folder of unfinished runs; default <clean>.staging (required for a URL clean root)",
    )
    parser.add_argument("--key-file", type=Path, help="HMAC key file (mode 0600); default $SCRUBLINE_HMAC_KEY")
    parser.add_argument(
        "--follow-symlinks", action="store_true", help="read raw files that symlinks lead to outside the raw root"
    )
    parser.add_argument(
        "--chunk-files", type=_positive_int, default=None, metavar="N",
        help="raw files per chunk of a text partition (default: the policy's run.chunk_files); never changes the output",
    )
    _add_run_options(parser)


def _add_run_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--workers", type=_positive_int, default=None, metavar="N",
        help="worker processes that scrub partitions and batches (default: one per CPU; 1: all in this process)",
    )
    shown = parser.add_mutually_exclusive_group()
    shown.add_argument("--no-progress", action="store_true", help="no progress bars (they are off anyway when stderr is not a terminal)")
    shown.add_argument("--progress", action="store_true", help="progress bars on stderr even when it is not a terminal (a log file)")


def _generate(args: argparse.Namespace) -> int:
    from pipeline.demo import generate_night

    counts = generate_night(args.out, args.ds, employees=args.employees, seed=args.seed)
    print(" ".join(f"{k}={v}" for k, v in counts.items()))
    return 0


def _night_config(args: argparse.Namespace, ds: str, rekey: bool = False):  # -> NightConfig
    from pipeline.night import NightConfig

    def text(value: Path | None) -> str | None:
        return str(value) if value else None

    return NightConfig(
        ds=ds,
        raw_root=str(args.raw),
        clean_root=str(args.clean),
        quarantine_root=text(args.quarantine),
        roster_path=text(args.roster),
        policy_path=text(args.policy),
        key_file=text(args.key_file),
        staging_root=text(getattr(args, "staging", None)),
        follow_symlinks=getattr(args, "follow_symlinks", False),
        rekey=rekey,
        chunk_files=getattr(args, "chunk_files", None),
    )


def _run(args: argparse.Namespace) -> int:
    """The night, then its one-screen summary (counts only) from the report it published."""
    from pipeline.files import read_json
    from pipeline.progress import night_summary
    from pipeline.run import run_night

    result = run_night(_night_config(args, args.ds), progress=_progress(args), workers=args.workers)
    print(night_summary(read_json(Path(result["report"]["json"])), result["published"], result["version"], result["report"]["html"]))
    if result["held"]:
        print(f"held for sign-off: ds={args.ds} version {result['version']} is committed but not visible to readers "
              f"until approved (scrubline signoff --clean {args.clean} --ds {args.ds} --version {result['version']} "
              "--reviewer NAME)")
    return 0


def _progress(args: argparse.Namespace) -> bool:
    return getattr(args, "progress", False) or (sys.stderr.isatty() and not args.no_progress)


def _rekey(args: argparse.Namespace) -> int:
    """Each night of the range again from raw under the new key: one version per night, so old and new
    pseudonyms never meet inside a night. Nights whose raw input is gone are listed and keep their old key."""
    from pipeline.read import raw_layout
    from pipeline.run import run_night

    first = date.fromisoformat(args.ds)
    last = date.fromisoformat(args.to) if args.to else first
    if last < first:
        raise UserError("--to must not be before --ds")
    missing = []
    day = first
    while day <= last:
        ds = day.isoformat()
        if raw_layout(args.raw, ds, args.follow_symlinks).sources:
            result = run_night(_night_config(args, ds, rekey=True), progress=_progress(args), workers=args.workers)
            print(f"re-keyed ds={ds}: version {result['version']}, report {result['report']['html']}")
        else:
            missing.append(ds)
        day += timedelta(days=1)
    if missing:
        print(f"scrubline: error: no raw input for {len(missing)} night(s), which keep their old key: "
              f"{', '.join(missing)}", file=sys.stderr)
        return 2
    return 0


def _retention(args: argparse.Namespace) -> int:
    from pipeline.policy import load_policy
    from pipeline.retention import apply_retention

    today = date.fromisoformat(args.today) if args.today else None
    result = apply_retention(load_policy(args.policy), args.raw, args.clean, args.quarantine, today, args.dry_run)
    verb = "would delete" if args.dry_run else "deleted"
    for path in result.deleted:
        print(f"{verb} {path}")
    print(f"{verb} {len(result.deleted)} partition(s) ({result.files_deleted} files); "
          f"kept {len(result.kept_unpublished)} old partition(s) whose night is not published")
    return 0


def _eval(args: argparse.Namespace) -> int:
    import json

    from pipeline.evaluate import evaluate, format_table, load_records
    from pipeline.scrub import scrub_texts

    results = {}
    for path in args.sets:
        records = load_records(path)[: args.limit]
        result = evaluate(records, lambda texts: scrub_texts(texts, roster=args.roster, policy=args.policy))
        results[path.name] = result.to_dict()
        if not args.json:
            print(format_table(path.name, result))
    if args.json:
        print(json.dumps(results, indent=2))
    return 0


def _reid(args: argparse.Namespace) -> int:
    """Exit 0 when the events pass the policy's re-identification gate (or it cannot be measured), else 3."""
    import json

    import pyarrow.dataset as pads

    from pipeline.policy import load_policy
    from pipeline.reid import Protocol, format_risk, gate, identification_risk

    if not args.events.exists():
        raise UserError(f"no events at {args.events}")
    policy = load_policy(args.policy)
    columns = ["user_pid", "session_pid", "source", "seq", "t_ms", "action", "key_class"]
    table = pads.dataset(args.events, format="parquet").to_table(columns=columns)  # every shard holds its ds
    risk = identification_risk(table, Protocol.of(policy.reid))
    settings = policy.reid
    problems = gate(risk, settings.max_top1_over_chance, settings.significance)
    print(json.dumps(risk, indent=2) if args.json else format_risk(risk, settings.max_top1_over_chance, settings.significance))
    return 3 if problems else 0


def _report(args: argparse.Namespace) -> int:
    from pipeline import signoff
    from pipeline.report import format_trend_table
    from pipeline.run import rebuild_report, recent_reports, report_folder

    if args.ds:
        rebuild_report(args.clean, args.ds)
        print(f"report: {report_folder(args.clean, args.ds) / 'report.html'}")
        return 0
    reports = recent_reports(args.clean, args.last)
    if not reports:
        raise UserError(f"no published or held night's report under {args.clean}")
    signed = {
        r["ds"]: signoff.summary(signoff.status(args.clean, r["ds"], signoff.report_anchor(args.clean, r["ds"])))
        for r in reports
    }
    print(format_trend_table(reports, signed))
    return 0


def _signoff(args: argparse.Namespace) -> int:
    """Append the decision to the night's sign-off log (an approval of a night held for sign-off publishes it),
    then re-render its report so the report shows it."""
    from pipeline import signoff
    from pipeline.policy import load_policy
    from pipeline.publish import held_version
    from pipeline.run import DATASETS, rebuild_report

    decision = signoff.REJECT if args.reject else signoff.APPROVE
    output = load_policy(args.policy).output
    anchor = signoff.report_anchor(args.clean, args.ds)
    entry, released = signoff.sign(args.clean, args.ds, args.reviewer, decision, DATASETS, args.reason, args.note,
                                   anchor, output["file_mode"], output["dir_mode"], version=args.version)
    rebuild_report(args.clean, args.ds)
    word = "approved" if decision == signoff.APPROVE else "rejected"
    print(f"ds={args.ds} {word} by {entry['reviewer']}: version {entry['version']}, entry {entry['seq']} "
          f"of {signoff.log_path(args.clean, args.ds)}")
    if released:
        print(f"published ds={args.ds}: version {released} is now visible to readers")
    elif held_version(args.clean, args.ds) == entry["version"]:
        print(f"ds={args.ds} stays held for sign-off: readers do not see version {entry['version']}")
    return 0


def _dag(args: argparse.Namespace) -> int:
    """The DAG file travels with the package, so the DAGs folder always matches the installed pipeline."""
    from pipeline.airflow_local import DAG_FILE

    if args.copy_to is None:
        print(DAG_FILE)
        return 0
    if not args.copy_to.is_dir():
        raise UserError(f"DAGs folder {args.copy_to} is not an existing folder")
    target = args.copy_to / DAG_FILE.name
    target.write_bytes(DAG_FILE.read_bytes())
    target.chmod(0o644)  # wiring only, no secret: the scheduler and dag-processor must read it
    print(target)
    return 0


def _demo(args: argparse.Namespace) -> int:
    from pipeline.demo import generate_night

    root = args.dir.resolve()
    raw, clean = root / "raw", root / "clean"
    key_file = create_key_file(root / "hmac.key")
    generate_night(raw, DEMO_DS, employees=args.employees)
    print(f"generated a demo night under {raw}")
    if args.airflow:
        return _demo_airflow(root, raw, clean, key_file)
    return _run(
        argparse.Namespace(
            ds=DEMO_DS, raw=raw, clean=clean, roster=None, policy=None, quarantine=None, key_file=key_file,
            staging=None, follow_symlinks=False, workers=args.workers, no_progress=args.no_progress,
            progress=args.progress,
        )
    )


def _demo_airflow(root: Path, raw: Path, clean: Path, key_file: Path) -> int:
    from pipeline.airflow_local import run_dag
    from pipeline.publish import published_dir, reports_dir

    settings = {"SCRUBLINE_RAW_ROOT": str(raw), "SCRUBLINE_CLEAN_ROOT": str(clean), "SCRUBLINE_KEY_FILE": str(key_file)}
    result = run_dag(DEMO_DS, root / "airflow", settings)
    log = root / "airflow" / "dags_test.log"
    log.write_text(result.stdout + result.stderr, encoding="utf-8")
    log.chmod(0o600)
    if result.returncode != 0:
        print(f"scrubline: error: the DAG run failed; see {log}", file=sys.stderr)
        return 1
    for dataset in ("text", "events"):
        print(f"published {dataset}: {published_dir(clean, dataset, DEMO_DS)}")
    print(f"report: {reports_dir(clean, DEMO_DS) / 'report.html'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
