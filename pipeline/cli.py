"""`scrubline` commands: thin wrappers over pipeline.run and pipeline.generate."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from pipeline.policy import PolicyError
from pipeline.pseudonym import MissingKeyError, create_key_file
from pipeline.read import InputError

DEMO_DS = "2026-11-26"
# Errors whose messages are written to be safe and useful on one line; anything else gets only its type.
EXPECTED_ERRORS = (MissingKeyError, PolicyError, InputError, FileNotFoundError)


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")
    logging.getLogger("scrubline").setLevel(logging.INFO if args.verbose else logging.WARNING)
    from pipeline.run import RunError

    try:
        return args.handler(args)
    except (*EXPECTED_ERRORS, RunError) as exc:
        print(f"scrubline: error: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # never print a message that might quote input data
        print(f"scrubline: error: unexpected {type(exc).__name__}; re-run with -v for the trace", file=sys.stderr)
        if args.verbose:
            raise
        return 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="scrubline", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress (counts only)")
    sub = parser.add_subparsers(required=True, metavar="COMMAND")

    gen = sub.add_parser("generate", help="write a realistic synthetic raw night")
    gen.add_argument("--ds", required=True, help="night to generate, YYYY-MM-DD")
    gen.add_argument("--out", required=True, type=Path, help="raw root to write under")
    gen.add_argument("--employees", type=int, default=50)
    gen.add_argument("--seed", type=int, default=0)
    gen.set_defaults(handler=_generate)

    run = sub.add_parser("run", help="scrub, validate and publish one night for every source present")
    run.add_argument("--ds", required=True, help="night to process, YYYY-MM-DD")
    run.add_argument("--raw", required=True, type=Path, help="raw root: <raw>/<source>/ds=YYYY-MM-DD/")
    run.add_argument("--clean", required=True, type=Path, help="clean root for shards, manifests and reports")
    run.add_argument("--roster", type=Path, help="employee directory (JSONL or CSV); default <raw>/roster.jsonl")
    run.add_argument("--policy", type=Path, help="policy YAML; default: the shipped policy")
    run.add_argument("--quarantine", type=Path, help="where rejected rows go; default <raw>/_quarantine")
    run.add_argument("--key-file", type=Path, help="HMAC key file; default $SCRUBLINE_HMAC_KEY")
    _add_run_options(run)
    run.set_defaults(handler=_run)

    ev = sub.add_parser("eval", help="leak recall of the nightly text path on labelled JSONL sets")
    ev.add_argument("sets", nargs="+", type=Path, help="labelled sets: {text, spans: [{start, end, label}]} per line")
    ev.add_argument("--roster", type=Path, help="employee directory for roster matching")
    ev.add_argument("--policy", type=Path, help="policy YAML; default: the shipped policy")
    ev.add_argument("--limit", type=int, help="only the first N records of each set")
    ev.add_argument("--json", action="store_true", help="print JSON instead of a table")
    ev.set_defaults(handler=_eval)

    rep = sub.add_parser("report", help="rebuild a night's privacy report, or show the trend of recent nights")
    rep.add_argument("--clean", required=True, type=Path, help="clean root the nights were published under")
    which = rep.add_mutually_exclusive_group(required=True)
    which.add_argument("--ds", help="night to rebuild, YYYY-MM-DD")
    which.add_argument("--last", type=int, help="show the last N nights' key figures in the terminal")
    rep.set_defaults(handler=_report)

    demo = sub.add_parser("demo", help="generate and scrub a demo night under ./demo/")
    demo.add_argument("--dir", type=Path, default=Path("demo"))
    demo.add_argument("--employees", type=int, default=50)
    demo.add_argument("--airflow", action="store_true", help="run the night through the real Airflow DAG")
    _add_run_options(demo)
    demo.set_defaults(handler=_demo)
    return parser


def _add_run_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--workers", type=_positive_int, default=None, metavar="N",
        help="worker processes that scrub partitions and batches (default: one per CPU; 1: all in this process)",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar (it is off anyway when stderr is not a terminal)")


def _positive_int(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return number


def _generate(args: argparse.Namespace) -> int:
    from pipeline.generate import generate_night

    counts = generate_night(args.out, args.ds, employees=args.employees, seed=args.seed)
    print(" ".join(f"{k}={v}" for k, v in counts.items()))
    return 0


def _run(args: argparse.Namespace) -> int:
    from pipeline.run import NightConfig, run_night

    cfg = NightConfig(
        ds=args.ds,
        raw_root=str(args.raw),
        clean_root=str(args.clean),
        quarantine_root=str(args.quarantine) if args.quarantine else None,
        roster_path=str(args.roster) if args.roster else None,
        policy_path=str(args.policy) if args.policy else None,
        key_file=str(args.key_file) if args.key_file else None,
    )
    result = run_night(cfg, progress=sys.stderr.isatty() and not args.no_progress, workers=args.workers)
    for dataset, folder in result["published"].items():
        print(f"published {dataset}: {result['datasets'][dataset]['rows']} rows in {folder}")
    print(f"report: {result['report']['html']}")
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


def _report(args: argparse.Namespace) -> int:
    from pipeline.publish import reports_dir
    from pipeline.report import format_trend_table, load_history
    from pipeline.run import rebuild_report

    if args.ds:
        rebuild_report(args.clean, args.ds)
        print(f"report: {reports_dir(args.clean, args.ds) / 'report.html'}")
        return 0
    reports = load_history(args.clean / "_reports", "9999-12-31", last=args.last)
    if not reports:
        print("scrubline: error: no reports under the clean root", file=sys.stderr)
        return 2
    print(format_trend_table(reports))
    return 0


def _demo(args: argparse.Namespace) -> int:
    from pipeline.generate import generate_night

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
            workers=args.workers, no_progress=args.no_progress,
        )
    )


def _demo_airflow(root: Path, raw: Path, clean: Path, key_file: Path) -> int:
    from pipeline.airflow_local import run_dag
    from pipeline.publish import published_dir, reports_dir

    settings = {"SCRUBLINE_RAW_ROOT": str(raw), "SCRUBLINE_CLEAN_ROOT": str(clean), "SCRUBLINE_KEY_FILE": str(key_file)}
    result = run_dag(DEMO_DS, root / "airflow", settings)
    (root / "airflow" / "dags_test.log").write_text(result.stdout + result.stderr, encoding="utf-8")
    if result.returncode != 0:
        print(f"scrubline: error: the DAG run failed; see {root / 'airflow' / 'dags_test.log'}", file=sys.stderr)
        return 1
    for dataset in ("text", "events"):
        print(f"published {dataset}: {published_dir(clean, dataset, DEMO_DS)}")
    print(f"report: {reports_dir(clean, DEMO_DS) / 'report.html'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
