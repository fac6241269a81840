"""Where Scrubline's text path spends its time: spaCy, Presidio's engine, our recognizers, redaction.

Why: the issue's targets are ratios to the spaCy NER floor; to know what to change, each stage's share has
to be measured on the same rows the benchmark uses. Three views, one corpus (bench_pipeline's generator):

1. stage timers: scrub_batch over every row with light wrappers around each recognizer's `analyze`,
   Presidio's NLP batch generator and artifact building, its context enhancer and recognizer lookup, and
   `redact_text`; the rest of the call is Presidio's per-text `analyze` glue and the Detector's own code;
2. spaCy per component: each pipeline component run alone over the unique rows, so the cost of what the
   recognizers do not need (the parser) is visible;
3. cProfile self time grouped by package, plus the top functions (and pyinstrument's tree if installed).

    .venv/bin/python bench/profile_text_path.py --texts 5000 --json bench/results/profile.json
"""

from __future__ import annotations

import argparse
import atexit
import cProfile
import functools
import io
import json
import pstats
import secrets
import shutil
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

# A script's own folder leads sys.path, so bench_pipeline imports as a sibling; importing it also sets the
# one-thread variables before numpy or spaCy are imported.
from bench_pipeline import forget_recent, generated_corpus, snapshot_pipeline, timed


class StageClock:
    """Accumulates CPU seconds, calls and non-empty results per named stage."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)
        self.hits: dict[str, int] = defaultdict(int)

    def wrap(self, name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(fn)
        def timed_call(*args: Any, **kwargs: Any) -> Any:
            t0 = time.process_time()
            try:
                out = fn(*args, **kwargs)
            finally:
                self.seconds[name] += time.process_time() - t0
                self.calls[name] += 1
            if out:
                self.hits[name] += 1
            return out

        return timed_call

    def wrap_generator(self, name: str, fn: Callable[..., Iterator[Any]]) -> Callable[..., Iterator[Any]]:
        """Time only the work inside next() of a lazy generator (spaCy runs there, interleaved with analyze)."""

        @functools.wraps(fn)
        def timed_gen(*args: Any, **kwargs: Any) -> Iterator[Any]:
            inner = fn(*args, **kwargs)
            while True:
                t0 = time.process_time()
                try:
                    item = next(inner)
                except StopIteration:
                    self.seconds[name] += time.process_time() - t0
                    return
                self.seconds[name] += time.process_time() - t0
                self.calls[name] += 1
                yield item

        return timed_gen


def recognizer_label(recognizer: Any) -> tuple[str, str]:
    """(group, label): ours are the recognizers defined under pipeline/, the rest are Presidio's."""
    module = type(recognizer).__module__
    group = "ours" if module.startswith("pipeline.") else "presidio"
    return group, f"{type(recognizer).__name__}:{recognizer.name}:{','.join(recognizer.supported_entities)}"


_MISSING = object()


class Patches:
    """Attributes replaced with timing wrappers for one measurement; `undo` restores them in reverse order."""

    def __init__(self) -> None:
        self._saved: list[tuple[Any, str, Any]] = []

    def __call__(self, obj: Any, attr: str, wrapper: Any) -> None:
        self._saved.append((obj, attr, obj.__dict__.get(attr, _MISSING)))
        setattr(obj, attr, wrapper)

    def undo(self) -> None:
        for obj, attr, old in reversed(self._saved):
            if old is _MISSING:
                delattr(obj, attr)
            else:
                setattr(obj, attr, old)


def stage_breakdown(detector: Any, run: Callable[[], Any], rows: int) -> dict[str, Any]:
    """Instrument one Detector in place, run the text path once, and undo the instrumentation."""
    import pipeline.scrub as scrub_module

    if not hasattr(detector, "analyzer"):
        return direct_stage_breakdown(detector, run, rows)
    clock = StageClock()
    analyzer = detector.analyzer
    engine = analyzer.nlp_engine
    patch = Patches()

    groups: dict[str, str] = {}
    for recognizer in analyzer.registry.recognizers:
        group, label = recognizer_label(recognizer)
        label = f"{group}/{label}"
        groups[label] = group
        patch(recognizer, "analyze", clock.wrap(label, recognizer.analyze))
    patch(engine, "process_batch", clock.wrap_generator("spacy+artifacts", engine.process_batch))
    patch(engine, "_doc_to_nlp_artifact", clock.wrap("presidio/nlp_artifacts", engine._doc_to_nlp_artifact))
    patch(analyzer, "_enhance_using_context", clock.wrap("presidio/context_enhancer", analyzer._enhance_using_context))
    patch(analyzer.registry, "get_recognizers", clock.wrap("presidio/get_recognizers", analyzer.registry.get_recognizers))
    patch(analyzer, "get_supported_entities",
          clock.wrap("presidio/get_supported_entities", analyzer.get_supported_entities))
    patch(scrub_module, "redact_text", clock.wrap("redaction", scrub_module.redact_text))
    try:
        _, total = timed(run, rows)
    finally:
        patch.undo()

    s = dict(clock.seconds)
    spacy_s = s.pop("spacy+artifacts") - s["presidio/nlp_artifacts"]
    ours = {k: v for k, v in s.items() if groups.get(k) == "ours"}
    builtin = {k: v for k, v in s.items() if groups.get(k) == "presidio"}
    engine_parts = {k: v for k, v in s.items() if k.startswith("presidio/") and k not in groups}
    known = spacy_s + sum(ours.values()) + sum(builtin.values()) + sum(engine_parts.values()) + s["redaction"]
    summary = {
        "spaCy pipeline (nlp.pipe, all components)": spacy_s,
        "our recognizers (pipeline/detect)": sum(ours.values()),
        "Presidio predefined recognizers": sum(builtin.values()),
        "Presidio engine: NlpArtifacts": s["presidio/nlp_artifacts"],
        "Presidio engine: context enhancer": s["presidio/context_enhancer"],
        "Presidio engine: recognizer/entity lookups": s["presidio/get_recognizers"] + s["presidio/get_supported_entities"],
        "Presidio analyze() rest + Detector glue (score filter, dedup, results)": total.cpu_s - known,
        "redaction (redact_text)": s["redaction"],
    }
    return breakdown(clock, groups, rows, total, summary, clock.calls.get("presidio/get_recognizers", 0))


def direct_stage_breakdown(detector: Any, run: Callable[[], Any], rows: int) -> dict[str, Any]:
    """The same view for a Detector that runs spaCy and calls its recognizers itself (no AnalyzerEngine)."""
    import pipeline.scrub as scrub_module

    clock, patch, groups = StageClock(), Patches(), {}

    for recognizer in detector.recognizers:
        group, label = recognizer_label(recognizer)
        groups[f"{group}/{label}"] = group
        patch(recognizer, "analyze", clock.wrap(f"{group}/{label}", recognizer.analyze))
        if hasattr(recognizer, "prepare"):  # a recognizer with a model of its own runs it per batch here
            patch(recognizer, "prepare", clock.wrap(f"{group}/{label}", recognizer.prepare))
    patch(detector.nlp, "pipe", clock.wrap_generator("spacy", detector.nlp.pipe))
    for name, component in detector.on_demand:
        patch(component, "pipe", clock.wrap_generator("spacy on demand", component.pipe))
    patch(detector._triggers, "features", clock.wrap("engine/triggers", detector._triggers.features))
    patch(detector, "_findings", clock.wrap("engine/findings", detector._findings))
    patch(scrub_module, "redact_text", clock.wrap("redaction", scrub_module.redact_text))
    try:
        _, total = timed(run, rows)
    finally:
        patch.undo()
    s = dict(clock.seconds)
    ours = sum(v for k, v in s.items() if groups.get(k) == "ours")
    builtin = sum(v for k, v in s.items() if groups.get(k) == "presidio")
    known = s["spacy"] + s.get("spacy on demand", 0.0) + ours + builtin + s["engine/triggers"] + \
        s["engine/findings"] + s["redaction"]
    summary = {
        "spaCy NER (nlp.pipe)": s["spacy"],
        "spaCy on demand (tagger etc., docs that ask)": s.get("spacy on demand", 0.0),
        "our recognizers (pipeline/detect)": ours,
        "Presidio predefined recognizers": builtin,
        "engine: trigger scan": s["engine/triggers"],
        "engine: findings (context, threshold, dedup, names)": s["engine/findings"],
        "engine: rest (artifacts, loops)": total.cpu_s - known,
        "redaction (redact_text)": s["redaction"],
    }
    return breakdown(clock, groups, rows, total, summary, 0)


def breakdown(clock: StageClock, groups: dict[str, str], rows: int, total: Any, summary: dict[str, float],
              analyze_calls: int) -> dict[str, Any]:
    """The report both views share: the summary with shares, and each recognizer's time, slowest first."""
    per_recognizer = sorted(
        ({"recognizer": k, "seconds": v, "calls": clock.calls[k], "texts_with_results": clock.hits[k]}
         for k, v in clock.seconds.items() if k in groups),
        key=lambda r: -r["seconds"],
    )
    return {"rows": rows, "total": total.to_dict(), "summary": summary,
            "summary_share": {k: v / total.cpu_s for k, v in summary.items()}, "per_recognizer": per_recognizer,
            "analyze_calls": analyze_calls}


def spacy_components(nlp: Any, texts: list[str], batch_size: int) -> dict[str, float]:
    """CPU seconds of the tokenizer and of each component run alone, in pipeline order, over texts."""
    out: dict[str, float] = {}
    docs, t = timed(lambda: [nlp.make_doc(x) for x in texts], len(texts))
    out["tokenizer"] = t.cpu_s
    for name, proc in nlp.pipeline:
        docs, t = timed(lambda proc=proc, docs=docs: list(proc.pipe(docs, batch_size=batch_size)), len(texts))
        out[name] = t.cpu_s
    return out


def package_of(filename: str) -> str:
    for marker, name in (("/spacy/", "spacy"), ("/thinc/", "thinc"), ("/presidio_analyzer/", "presidio_analyzer"),
                         ("/presidio_anonymizer/", "presidio_anonymizer"), ("/pipeline/", "pipeline (ours)"),
                         ("/phonenumbers/", "phonenumbers"), ("/numpy/", "numpy"), ("/tldextract/", "tldextract"),
                         ("/regex/", "regex"), ("ahocorasick", "ahocorasick")):
        if marker in filename:
            return name
    if filename.startswith("~") or filename == "<built-in>":
        return "builtins/C (re, str, ...)"
    return "stdlib/other"


def cprofile_view(run: Callable[[], Any], top: int) -> dict[str, Any]:
    """Self time by package, and the top functions by self time, of one run under cProfile."""
    profiler = cProfile.Profile()
    profiler.enable()
    run()
    profiler.disable()
    stats = pstats.Stats(profiler)
    total = 0.0
    by_package: dict[str, float] = defaultdict(float)
    rows = []
    for (filename, line, func), (_, ncalls, tottime, cumtime, _) in stats.stats.items():  # type: ignore[attr-defined]
        total += tottime
        package = package_of(filename)
        if package.startswith("builtins"):
            # Attribute C calls (regex matching, str methods) to the package name cProfile gives them.
            package = f"builtins/C: {func.split(' ')[0] if ' ' in func else func}"[:60]
        by_package[package] += tottime
        rows.append({"function": f"{Path(filename).name}:{line}:{func}", "package": package_of(filename),
                     "calls": ncalls, "self_s": tottime, "cum_s": cumtime})
    rows.sort(key=lambda r: -r["self_s"])
    grouped: dict[str, float] = defaultdict(float)
    for name, seconds in by_package.items():
        grouped[name if seconds / total >= 0.01 else "(each < 1%)"] += seconds
    return {"total_self_s": total, "by_package": dict(sorted(grouped.items(), key=lambda kv: -kv[1])),
            "top": rows[:top]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--texts", type=int, default=5_000)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--pyinstrument", help="also write pyinstrument's text tree here (if installed)")
    parser.add_argument("--json", help="write the results to this JSON file")
    parser.add_argument("--code", default="HEAD",
                        help="git revision of pipeline/ to measure (as bench_pipeline), or 'worktree'")
    args = parser.parse_args()
    code_dir = Path(tempfile.mkdtemp(prefix="scrubline-code-"))
    atexit.register(shutil.rmtree, code_dir, True)
    code = {"code": "working tree"} if args.code == "worktree" else snapshot_pipeline(args.code, code_dir)
    print(f"measuring pipeline/ from {code}", flush=True)

    from pipeline.detect.engine import NLP_BATCH_SIZE
    from pipeline.pseudonym import Pseudonymizer
    from pipeline.scrub import detector_for, scrub_batch

    records, policy, roster = generated_corpus(args.texts, args.seed)
    keys = Pseudonymizer(secrets.token_bytes(32))
    texts = [r["text"] for r in records]
    unique = list(dict.fromkeys(texts))
    detector = detector_for(policy, roster)
    scrub_batch(texts[:50], policy, roster, keys)

    def run() -> Any:
        forget_recent(detector)
        return scrub_batch(texts, policy, roster, keys)

    print(f"{len(texts):,} rows ({len(unique):,} unique)", flush=True)
    results: dict[str, Any] = {"code": code, "rows": len(texts), "unique_rows": len(unique)}
    _, plain = timed(run, len(texts))
    results["plain"] = plain.to_dict()
    results["stages"] = stage_breakdown(detector, run, len(texts))
    nlp = detector.nlp if not hasattr(detector, "analyzer") else detector.analyzer.nlp_engine.nlp[policy.language]
    results["spacy_components_unique"] = spacy_components(nlp, unique, NLP_BATCH_SIZE)
    results["cprofile"] = cprofile_view(run, args.top)
    if args.pyinstrument:
        try:
            from pyinstrument import Profiler
        except ImportError:
            print("pyinstrument is not installed; skipped")
        else:
            profiler = Profiler(interval=0.002)
            profiler.start()
            run()
            profiler.stop()
            Path(args.pyinstrument).write_text(profiler.output_text(unicode=True, show_all=False), encoding="utf-8")

    stages = results["stages"]
    print(f"\nscrub_batch over {len(texts):,} rows: {plain.cpu_s:.1f} s CPU ({plain.per_s:,.0f} texts/s); "
          f"instrumented {stages['total']['cpu_s']:.1f} s")
    for name, seconds in stages["summary"].items():
        print(f"  {name:<72}{seconds:7.2f} s {seconds / stages['total']['cpu_s']:6.1%}")
    print("\nrecognizers by time (calls, texts with a result)")
    for row in stages["per_recognizer"][:15]:
        print(f"  {row['recognizer']:<72}{row['seconds']:7.2f} s {row['calls']:>7} {row['texts_with_results']:>7}")
    comps = results["spacy_components_unique"]
    print(f"\nspaCy components alone over {len(unique):,} unique rows (s CPU)")
    for name, seconds in comps.items():
        print(f"  {name:<20}{seconds:7.2f} s {seconds / sum(comps.values()):6.1%}")
    prof = results["cprofile"]
    print(f"\ncProfile self time by package ({prof['total_self_s']:.1f} s under the profiler)")
    for name, seconds in prof["by_package"].items():
        print(f"  {name:<60}{seconds:7.2f} s {seconds / prof['total_self_s']:6.1%}")
    print("\ntop functions by self time")
    buf = io.StringIO()
    for row in prof["top"]:
        buf.write(f"  {row['self_s']:7.2f} s  {row['calls']:>9}  {row['function'][:100]}\n")
    print(buf.getvalue())
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2, default=str) + "\n", encoding="utf-8")
        print(f"results written to {args.json}")


if __name__ == "__main__":
    main()
