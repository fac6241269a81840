"""Policy checks and the HMAC key: no key, no run; pseudonyms are keyed, stable and well-formed."""

from __future__ import annotations

import re
import stat
from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from pipeline.policy import PolicyError, default_policy_path, load_policy
from pipeline.pseudonym import (
    KEY_ENV,
    PID_PATTERN,
    MissingKeyError,
    Pseudonymizer,
    create_key_file,
    load_key,
)


def test_default_policy_loads_and_drops_performance() -> None:
    policy = load_policy()
    assert policy.source_target("performance")[0] == "none"
    assert policy.action_for("CREDENTIAL") in {"replace", "remove", "drop_row"}
    assert len(policy.sha256) == 64


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda p: p["entities"].update(CREDENTIAL="pseudonym"), "entities.CREDENTIAL: must be removed irreversibly"),
        (lambda p: p["entities"].update(EMAIL_ADDRESS="blur"), "entities.EMAIL_ADDRESS: must be 'replace', 'pseudonym'"),
        (lambda p: p["recognizers"].update(magic=True), "recognizers.magic: unknown recognizer family"),
        (lambda p: p["sources"].update(chat={"publish": "everywhere"}), "sources.chat.publish: must be 'text', 'events'"),
        (lambda p: p.pop("nlp"), "nlp: required"),
        # the typos and values of issue 13, each refused with its key's path
        (lambda p: p.update(canaris={"per_partition": 3}), "canaris: unknown key"),
        (lambda p: p["events"].update(key_detial="char"), "events.key_detial: unknown key"),
        (lambda p: p["entities"].update(EMAIL_ADRESS="replace"), "entities.EMAIL_ADRESS: unknown entity"),
        (lambda p: p["canaries"].update(min_recal={"default": 0.5}), "canaries.min_recal: unknown key"),
        (lambda p: p["output"].update(shard_target_rows=-3), "output.shard_target_rows: must be greater than or equal to 1"),
        (lambda p: p["nlp"].update(score_threshold="high"), "nlp.score_threshold: must be a number"),
        (lambda p: p["nlp"].update(score_threshold=1.5), "nlp.score_threshold: must be less than or equal to 1"),
        (lambda p: p["canaries"]["min_recall"].update(PHONES=0.5), "canaries.min_recall.PHONES: unknown canary label"),
        (lambda p: p["sources"].update(chatt={"publish": "text"}), "sources.chatt: unknown source"),
        (lambda p: p["events"].update(jitter_ms=True), "events.jitter_ms: must be an integer"),
        (lambda p: p["recognizers"].update(names="yes"), "recognizers.names: must be true or false"),
        (lambda p: p["output"].update(timestamp_granularity="second"), "output.timestamp_granularity: must be 'minute'"),
        (lambda p: p["output"].update(file_mode=644), 'output.file_mode: must be an octal mode in quotes'),
        (lambda p: p["output"].update(file_mode="0666"), "output.file_mode: must not be writable by others"),
        (lambda p: p["run"].update(batch_rows=0), "run.batch_rows: must be greater than or equal to 1"),
        (lambda p: p["retention"].update(raw_days=-1), "retention.raw_days: must be greater than or equal to 1"),
        (lambda p: p["nlp"].update(window_overlap_chars=90_000), "nlp: window_overlap_chars must be at most half"),
        (lambda p: p["output"].update(test_fracton=0.1), "output.test_fracton: unknown key"),
        (lambda p: p["output"].update(test_fraction=1.5), "output.test_fraction: must be less than or equal to 1"),
        (lambda p: p["output"].update(test_fraction="some"), "output.test_fraction: must be a number"),
        (lambda p: p["output"].update(validation_fraction=0.5, test_fraction=0.5),
         "output: validation_fraction + test_fraction must be below 1"),
        (lambda p: p["output"].update(min_split_users=0), "output.min_split_users: must be greater than or equal to 1"),
    ],
)
def test_bad_policies_are_refused_with_the_keys_path(tmp_path: Path, change, message: str) -> None:
    raw = yaml.safe_load(default_policy_path().read_text())
    change(raw)
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(raw))
    with pytest.raises(PolicyError) as refused:
        load_policy(path)
    assert str(refused.value).startswith(f"policy policy.yaml: {message}")
    assert "\n" not in str(refused.value)


def test_every_problem_of_a_policy_is_named_at_once(tmp_path: Path) -> None:
    raw = yaml.safe_load(default_policy_path().read_text())
    raw["canaris"] = {}
    raw["entities"]["EMAIL_ADRESS"] = "replace"
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(raw))
    with pytest.raises(PolicyError, match="entities.EMAIL_ADRESS: unknown entity; canaris: unknown key"):
        load_policy(path)


def test_policy_settings_are_frozen_and_defaults_filled() -> None:
    policy = load_policy()
    with pytest.raises(ValidationError):
        policy.settings.output.shard_target_rows = 1  # type: ignore[misc]
    assert policy.output["file_mode"] == 0o640 and policy.batch_rows == 20_000
    assert policy.canary_threshold("PERFORMANCE") == 0.9 and policy.canary_threshold("EMAIL") == 1.0
    assert policy.action_for("NOT_IN_POLICY") == "replace", "an entity the policy forgot is still replaced"


def test_the_entity_vocabulary_is_in_one_place() -> None:
    """Every entity the shipped policy names, and every entity a recognizer can report, is in ENTITIES."""
    from pipeline.policy import ENTITIES

    assert set(load_policy().entities) <= set(ENTITIES)
    assert len(set(ENTITIES)) == len(ENTITIES)


def test_not_yaml_and_not_a_mapping_are_one_line_errors(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text("nlp: [unclosed\n")
    with pytest.raises(PolicyError, match=r"policy p.yaml is not valid YAML \(line \d+\)"):
        load_policy(path)
    path.write_text("- a list\n")
    with pytest.raises(PolicyError, match="policy p.yaml: must be a mapping"):
        load_policy(path)
    with pytest.raises(PolicyError, match="cannot read policy"):
        load_policy(tmp_path / "missing.yaml")


def test_no_key_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(KEY_ENV, raising=False)
    with pytest.raises(MissingKeyError, match=KEY_ENV):
        load_key(None)


def test_short_key_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, "short")
    with pytest.raises(MissingKeyError):
        load_key(None)


def test_pseudonyms_are_keyed_and_well_formed() -> None:
    a, b = Pseudonymizer(b"a" * 32), Pseudonymizer(b"b" * 32)
    assert a.pid("user", "E1") == a.pid("user", "E1")
    assert a.pid("user", "E1") != b.pid("user", "E1")
    assert a.pid("user", "E1") != a.pid("record", "E1")
    for kind in ("user", "record", "conversation", "person"):
        assert re.match(PID_PATTERN, a.pid(kind, "x"))
    assert a.key_id != b.key_id and "a" * 12 not in a.key_id


def test_demo_key_file_is_private(tmp_path: Path) -> None:
    path = create_key_file(tmp_path / "k" / "hmac.key")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_key(path).key_id == load_key(path).key_id


@pytest.mark.parametrize("mode", [0o644, 0o666, 0o640, 0o604])
def test_a_key_file_others_can_read_is_refused_as_ssh_refuses_it(tmp_path: Path, mode: int) -> None:
    path = tmp_path / "hmac.key"
    path.write_text("k" * 40)
    path.chmod(mode)
    with pytest.raises(MissingKeyError) as refused:
        load_key(path)
    assert str(refused.value) == f"key file {path} is accessible by others (mode {mode:04o}); run: chmod 600 {path}"
    path.chmod(0o600)
    assert load_key(path).key_id


def test_a_missing_key_file_is_a_one_line_error(tmp_path: Path) -> None:
    with pytest.raises(MissingKeyError, match=r"cannot read key file .*missing.key: No such file or directory"):
        load_key(tmp_path / "missing.key")
