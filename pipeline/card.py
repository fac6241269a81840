"""The dataset card (`<clean>/README.md`): what a reader of the clean root needs, in the form Hugging Face reads.

Its YAML front matter holds the `configs:` block `datasets.load_dataset(<clean>, "text")` uses (one config per
dataset, `data_files` per split); the body says what each column holds, how the splits are made, what is
guaranteed about privacy, and which policy and key each night was published under. It is built from the
nights' manifests only (counts, hashes, ids), never from a row, so it can hold nothing the shards do not.
The card sits at the clean root, not beside the shards: polars refuses a dataset folder holding any file that
is not Parquet, and pandas and pyarrow try to read every file there that does not start with `_` or `.`.
"""

from __future__ import annotations

from typing import Any

import yaml

from pipeline.contracts import PUBLISHED_SCHEMAS

SPLIT_ORDER = ("train", "validation", "test")

COLUMNS = {
    "record_pid": "`r_` + 16 hex: keyed HMAC of the source and the raw row key",
    "source": "the raw source the row came from",
    "user_pid": "`u_` + 16 hex: keyed HMAC of the author (the same person is the same value every night while the key holds)",
    "conversation_pid": "`c_` + 16 hex: keyed HMAC of the channel, meeting or typing session",
    "session_pid": "`s_` + 16 hex: keyed HMAC of employee, device and session",
    "context": "`dm`, `group`, `public`, `meeting` or `typed:<field kind>`",
    "ts": "when it was said, cut to the policy's granularity (minute by default)",
    "turn": "place in its conversation that night, from 1, by exact time (which is not published): dialogue order",
    "text": "the scrubbed text: findings are typed placeholders such as `<EMAIL>` or `<PERSON_p_…>`",
    "redactions": "what was redacted in the row, by entity type",
    "redacted_count": "number of redactions in the row",
    "app_category": "`chat`, `email`, `browser`, `ide`, `terminal`, `docs` or `other`",
    "seq": "order of the event within its session and source",
    "t_ms": "milliseconds since the session's first event, rounded; no absolute time",
    "action": "key `down`/`up`, mouse `move`/`click`/`scroll`/`drag`, or `unknown`",
    "key": "null by default (policy `events.key_detail: class`)",
    "key_class": "`letter`, `digit`, `space`, `punct`, `named:<Key>`, `redacted`, `masked` or `unknown`",
    "x": "mouse x over screen width, on a coarse grid",
    "y": "mouse y over screen height, on a coarse grid",
    "button": "mouse button or `unknown`",
    "split": "`train`, `validation` or `test`, from a keyed hash of `user_pid`: a user is in one split only",
    "ds": "the night (YYYY-MM-DD), also the `ds=` folder",
}

GUARANTEES = """\
- No raw text, name, e-mail, phone number, credential or identifier leaves: findings are replaced, removed or
  dropped under the reviewed policy named by its SHA-256 below, and identifiers are keyed HMAC pseudonyms
  (HMAC-SHA256 under a secret key recorded here only by its id). Without the key a pseudonym cannot be
  turned back into a person, and a person's name in text uses another HMAC namespace than `user_pid`, so a
  mention cannot be joined to its author.
- Timestamps are cut to the policy's granularity and events carry only times relative to their session.
- A night is published only when it passed every gate: Great Expectations suites, planted canaries, a residual
  scan of the published text and a row reconciliation (input = published + quarantined + dropped).
- Shards, their statistics and this card hold no value from the raw input; the per-night privacy report is
  under `_reports/ds=YYYY-MM-DD/report.html`.
"""


def dataset_card(nights: dict[str, dict[str, Any]], datasets: list[str]) -> str:
    """The card for the published nights ({ds: the night's `_night.json`})."""
    return f"---\n{yaml.safe_dump(_front_matter(nights, datasets), sort_keys=False)}---\n\n{_body(nights, datasets)}"


def _front_matter(nights: dict[str, dict[str, Any]], datasets: list[str]) -> dict[str, Any]:
    configs = []
    for dataset in datasets:
        present = {
            split for m in nights.values() for f in m["datasets"][dataset]["files"]
            for split in SPLIT_ORDER if f["path"].rsplit("/", 1)[-1].startswith(f"{split}-")
        }
        files = [{"split": s, "path": f"{dataset}/ds=*/{s}-*.parquet"} for s in SPLIT_ORDER if s in present]
        if files:
            configs.append({"config_name": dataset, "data_files": files, **({"default": True} if not configs else {})})
    return {"pretty_name": "Scrubline de-identified workforce interactions", "configs": configs}


def _body(nights: dict[str, dict[str, Any]], datasets: list[str]) -> str:
    lines = [
        "# Scrubline clean root",
        "",
        "De-identified workforce interaction logs, one `ds=YYYY-MM-DD` folder per night in each dataset. Every",
        "shard holds rows of one split, named as Hugging Face names shards (`train-00000-of-00002.parquet`).",
        "",
        "```python",
        'datasets.load_dataset("parquet", data_dir="<clean>/text")   # or load_dataset("<clean>/text"), load_dataset("<clean>", "text")',
        'pandas.read_parquet("<clean>/text"); polars.scan_parquet("<clean>/text/", hive_partitioning=True)',
        "```",
        "",
        "## Splits",
        "",
        "`train`, `validation` and `test` are drawn by a keyed hash of `user_pid` with the policy's fractions, so a",
        "user is in one split only, and in the same split every night while the key holds.",
        "",
        "## Privacy guarantees",
        "",
        GUARANTEES,
    ]
    for dataset in datasets:
        lines += ["", f"## Dataset `{dataset}`", "", "| column | type | meaning |", "|---|---|---|"]
        lines += [f"| {f.name} | {f.type} | {COLUMNS.get(f.name, '')} |" for f in PUBLISHED_SCHEMAS[dataset]]
    lines += [
        "",
        "## Nights",
        "",
        "| ds | version | policy sha256 | key id | " + " | ".join(f"{d} {s}" for d in datasets for s in SPLIT_ORDER) + " |",
        "|---|---|---|---|" + "---|" * (len(datasets) * len(SPLIT_ORDER)),
    ]
    for ds, m in sorted(nights.items()):
        counts = [str(m["datasets"][d].get("splits", {}).get(s, 0)) for d in datasets for s in SPLIT_ORDER]
        lines.append(f"| {ds} | {m['version']} | `{m['policy_sha256']}` | `{m['key_id']}` | " + " | ".join(counts) + " |")
    return "\n".join(lines) + "\n"
