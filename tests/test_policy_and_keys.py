"""Policy checks and the HMAC key: no key, no run; pseudonyms are keyed, stable and well-formed."""

from __future__ import annotations

import re
import stat
from pathlib import Path

import pytest
import yaml

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
        (lambda p: p["entities"].update(CREDENTIAL="pseudonym"), "irreversibly"),
        (lambda p: p["entities"].update(EMAIL_ADDRESS="blur"), "unknown action"),
        (lambda p: p["recognizers"].update(magic=True), "unknown recognizer"),
        (lambda p: p["sources"].update(chat={"publish": "everywhere"}), "publish must be"),
        (lambda p: p.pop("nlp"), "nlp"),
    ],
)
def test_bad_policies_are_refused(tmp_path: Path, change, message: str) -> None:
    raw = yaml.safe_load(default_policy_path().read_text())
    change(raw)
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(raw))
    with pytest.raises(PolicyError, match=message):
        load_policy(path)


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
