"""Unit tests of the credentials, roster, performance and contact recognizer families, and one end-to-end pass.

Secrets are assembled from a provider prefix and a seeded random body at run time, so this file holds no
string a secret scanner would flag, and no test depends on a real key.
"""

from __future__ import annotations

import base64
import copy
import json
import random
import re
import string

import pytest
import spacy
from presidio_analyzer import EntityRecognizer, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts
from spacy.tokens import Doc

from pipeline import scrub_texts
from pipeline.detect import Detector, Finding, contact, credentials, names, payment, performance
from pipeline.detect import address as address_family
from pipeline.detect import roster as roster_family
from pipeline.detect import spans as spans_module
from pipeline.detect import engine as engine_module
from pipeline.detect.registry import (
    DetectContext,
    build_recognizers,
    registered_families,
)
from pipeline.policy import Policy, load_policy
from pipeline.roster import Employee, Roster
from pipeline.validate import SUITES

FAMILIES = ("credentials", "roster", "performance", "contact")
_rng = random.Random(20240611)
ALNUM = string.ascii_letters + string.digits


def rand(n: int, alphabet: str = ALNUM) -> str:
    """A seeded random body; from a mixed alphabet it mixes letters and digits, like a real key's."""
    wanted = [kind for kind in (str.isdigit, str.isalpha) if any(kind(c) for c in alphabet)]
    while True:
        body = "".join(_rng.choice(alphabet) for _ in range(n))
        if all(any(kind(c) for c in body) for kind in wanted):
            return body


def spans(recognizer: EntityRecognizer, text: str, entity: str | None = None) -> list[str]:
    entities = [entity] if entity else recognizer.supported_entities
    return sorted(text[r.start : r.end] for r in recognizer.analyze(text, entities=entities, nlp_artifacts=None))


# --- shared fixtures -----------------------------------------------------------------------------------------------

EMPLOYEES = (
    Employee("E10023", "Priya Raman", handle="praman", email="priya.raman@corp.example.com"),
    Employee("E10024", "William Grant", preferred_name="Will", handle="wgrant", email="wgrant@corp.example.com"),
    Employee("E10025", "Alex Kim", handle="akim", email="alex.kim@corp.example.com"),
    Employee("E10026", "Alex Chen", email="achen@corp.example.com"),
    Employee("E10027", "May O'Brien", email="may.obrien@corp.example.com"),
    Employee("E10028", "José Álvarez Ruiz", handle="jalvarez"),
    Employee("E10029", "Li Wu"),
    Employee("E10030", "Anna van Dijk"),
)


@pytest.fixture(scope="module")
def roster() -> Roster:
    return Roster(EMPLOYEES)


@pytest.fixture(scope="module")
def policy() -> Policy:
    return load_policy()


@pytest.fixture(scope="module")
def detector(policy: Policy, roster: Roster) -> Detector:
    return Detector(policy, roster)


def policy_without(policy: Policy, *families: str) -> Policy:
    raw = copy.deepcopy(policy.raw)
    for family in families:
        raw["recognizers"][family] = False
    return Policy(raw=raw, sha256="test-" + "-".join(families))


# --- helpers of the credentials module ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "kept"),
    [
        ("hunter2.", "hunter2"),
        ("hunter2!", "hunter2"),
        ("hunter2),", "hunter2"),
        ("P@ss!w0rd!", "P@ss!w0rd!"),
        ("Tr0ub4dor&3.", "Tr0ub4dor&3"),
        ("(secret)", "(secret)"),
        ('abc"', "abc"),
    ],
)
def test_trim_value_drops_sentence_punctuation_not_symbol_rich_endings(value: str, kept: str) -> None:
    text = f"x {value}"
    assert text[2 : spans_module.trim_value(text, 2, len(text))] == kept


def test_shannon_entropy_orders_random_above_repetitive() -> None:
    assert credentials.shannon_entropy("aaaaaaaaaaaaaaaa") == 0
    assert credentials.shannon_entropy(rand(32)) > 4.0 > credentials.shannon_entropy("abababababababab")


# --- credentials: provider keys ---------------------------------------------------------------------------------

UPPER_DIGITS = string.ascii_uppercase + string.digits
PROVIDER_KEYS = {
    "aws_access_key_id": "AKIA" + rand(16, UPPER_DIGITS),
    "aws_session_key_id": "ASIA" + rand(16, UPPER_DIGITS),
    "gcp": "AIza" + rand(35),
    "github_pat": "ghp_" + rand(36),
    "github_oauth": "gho_" + rand(36),
    "github_user_to_server": "ghu_" + rand(36),
    "github_server_to_server": "ghs_" + rand(36),
    "github_refresh": "ghr_" + rand(36),
    "github_fine_grained": "github_pat_" + rand(22) + "_" + rand(59),
    "gitlab": "glpat-" + rand(20),
    "slack_bot": "xoxb-" + rand(11, string.digits) + "-" + rand(12, string.digits) + "-" + rand(24),
    "slack_user": "xoxp-" + rand(11, string.digits) + "-" + rand(24),
    "slack_webhook": "https://hooks.slack.com/services/T" + rand(8, UPPER_DIGITS) + "/B" + rand(8, UPPER_DIGITS)
    + "/" + rand(24),
    "stripe_live": "sk_live_" + rand(24),
    "stripe_restricted": "rk_live_" + rand(24),
    "stripe_test": "sk_test_" + rand(24),
    "openai_legacy": "sk-" + rand(48),
    "openai_project": "sk-proj-" + rand(40) + "_" + rand(20),
    "twilio": "SK" + rand(32, "0123456789abcdef"),
    "sendgrid": "SG." + rand(22) + "." + rand(43),
    "npm": "npm_" + rand(36),
    "jwt": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0." + rand(43),
}


@pytest.mark.parametrize("name", sorted(PROVIDER_KEYS))
def test_provider_key_formats_are_found_whole(name: str) -> None:
    key = PROVIDER_KEYS[name]
    text = f"can you rotate this one: {key} thanks"
    results = credentials.provider_key_recognizer().analyze(text, ["CREDENTIAL"], None)
    assert [text[r.start : r.end] for r in results] == [key]
    assert results[0].score >= 0.9


def test_aws_secret_needs_its_context_and_is_found_next_to_it() -> None:
    secret = rand(30) + "/" + rand(9)
    recognizer = credentials.provider_key_recognizer()
    assert spans(recognizer, f"aws_secret_access_key = {secret}") == [secret]
    assert spans(recognizer, f"{PROVIDER_KEYS['aws_access_key_id']},{secret}") == sorted(
        [PROVIDER_KEYS["aws_access_key_id"], secret]
    )
    assert spans(recognizer, f"artifact digest {secret}") == []


def test_azure_connection_string_account_key_is_found() -> None:
    key = rand(86, ALNUM + "+/") + "=="
    text = f"DefaultEndpointsProtocol=https;AccountName=acmelogs;AccountKey={key};EndpointSuffix=core.windows.net"
    assert spans(credentials.provider_key_recognizer(), text) == [key]


@pytest.mark.parametrize(
    "text",
    [
        "AKIAIOSFODNN7EXAMPLE is the docs example",  # AWS's documented placeholder
        "sk-this-is-not-a-real-key-at-all",
        "token ghp_" + "x" * 36,  # masked
        "XAKIA" + "B" * 16 + "Q",  # inside a longer token
        "see https://hooks.slack.com/services/ for setup",
        "eyJhbGciOi is only a header",
        "the task-runner-service-for-billing-exports crashed",
    ],
)
def test_provider_key_negatives(text: str) -> None:
    assert spans(credentials.provider_key_recognizer(), text) == []


# --- credentials: private keys, URLs, headers ----------------------------------------------------------------------


def test_private_key_block_whole_truncated_and_json_escaped() -> None:
    body = "\n".join(rand(64, ALNUM + "+/") for _ in range(3))
    block = f"-----BEGIN RSA PRIVATE KEY-----\n{body}\n-----END RSA PRIVATE KEY-----"
    recognizer = credentials.private_key_recognizer()
    assert spans(recognizer, f"here:\n{block}\nthanks") == [block]
    truncated = f"-----BEGIN OPENSSH PRIVATE KEY-----\n{body}"
    assert spans(recognizer, f"{truncated}\n\ngot cut off, sorry") == [truncated]
    escaped = "-----BEGIN PRIVATE KEY-----\\n" + body.replace("\n", "\\n") + "\\n-----END PRIVATE KEY-----"
    assert spans(recognizer, '{"private_key": "' + escaped + '"}') == [escaped]


@pytest.mark.parametrize(
    "text",
    ["-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkq\n-----END PUBLIC KEY-----", "paste the BEGIN PRIVATE KEY line too"],
)
def test_private_key_negatives(text: str) -> None:
    assert spans(credentials.private_key_recognizer(), text) == []


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("DATABASE_URL=postgres://app:Pa55w0rd-x@db.internal:5432/app", "Pa55w0rd-x"),
        ("redis://:s3cr3tR3dis@cache-01:6379/0", "s3cr3tR3dis"),
        ("amqp://svc:hunter2@mq.corp.example.com//", "hunter2"),
        ("curl -u deploy:Zx81!pq https://ci.example.com", "Zx81!pq"),
    ],
)
def test_url_credentials(text: str, secret: str) -> None:
    assert spans(credentials.url_credential_recognizer(), text) == [secret]


@pytest.mark.parametrize(
    "text",
    [
        "postgres://user:password@localhost/db",  # documentation placeholder
        "postgres://app@db.internal/app",
        "postgres://app:${DB_PASSWORD}@db/app",
        "https://example.com:8443/path",
    ],
)
def test_url_credential_negatives(text: str) -> None:
    assert spans(credentials.url_credential_recognizer(), text) == []


def test_authorization_headers() -> None:
    token, basic = rand(40), base64.b64encode(b"svc-bot:" + rand(12).encode()).decode()
    recognizer = credentials.auth_header_recognizer()
    assert spans(recognizer, f"curl -H 'Authorization: Bearer {token}' https://api") == [token]
    assert spans(recognizer, f"Authorization: Basic {basic}") == [basic]
    assert spans(recognizer, f"use bearer {token} for now") == [token]


@pytest.mark.parametrize(
    "text",
    [
        "Basic instructions are in the wiki",
        "Authorization: Basic aGVsbG8gd29ybGQ=",  # decodes to "hello world": no user:password
        "I hate being the bearer of bad news",
        "Authorization: Bearer $TOKEN",
        "Authorization: Bearer <your token here>",
    ],
)
def test_authorization_negatives(text: str) -> None:
    assert spans(credentials.auth_header_recognizer(), text) == []


# --- credentials: passwords and PINs -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("my password is now Tr0ub4dor&3.", "Tr0ub4dor&3"),
        ("pw: hunter2", "hunter2"),
        ("password=s3cr3t!x", "s3cr3t!x"),
        ("passwd hunter22", "hunter22"),
        ("the wifi pass is BlueMonkey77!", "BlueMonkey77"),
        ("login is bob / hunter2", "hunter2"),
        ("credentials: admin/admin123", "admin123"),
        ("the password for the admin account is Qwerty!23, don't share", "Qwerty!23"),
        ("my password's sunshine", "sunshine"),
        ("new pw: Zebra#41, please rotate", "Zebra#41"),
        ('{"password": "s3cr3t P@ss"}', "s3cr3t P@ss"),
        ("DB_PASSWORD=Rk9x2mQ", "Rk9x2mQ"),
        ("spring.datasource.password: Wint3r!", "Wint3r!"),
        ("Server=db;User Id=sa;Password=Hunter2!x;Encrypt=True", "Hunter2!x"),
        ("I changed my password to Winter2025", "Winter2025"),
        ("(pw: hunter2)", "hunter2"),
        ("password - hunter2", "hunter2"),
        ("my password was changed to Qwerty123", "Qwerty123"),
        ("password for wifi: CoffeeShop2024", "CoffeeShop2024"),
        ("password is 'correct horse battery staple'", "correct horse battery staple"),
        ("lol I typed my password into the chat: harbor-lantern-falcon-8", "harbor-lantern-falcon-8"),
        ("temporarily set the shared vpn account to Falc0n&42, rotate after", "Falc0n&42"),
        ("uh, the wifi here is lantern-Marble-42", "lantern-Marble-42"),
        ("<password>hunter2</password>", "hunter2"),
        ('<add key="DbPassword" value="S3cr3t!x"/>', "S3cr3t!x"),
        ("mysql -u root -phunter22 appdb", "hunter22"),
        ("redis-cli -h cache -a R3disPass! ping", "R3disPass!"),
        ("PGPASSWORD=pg9x2mQ psql -h db", "pg9x2mQ"),
        # a pronoun for the password, the value shaped like one
        ("I reset it to Maple!Tree42 for now", "Maple!Tree42"),
        ("ok I changed it back to Gr33n-Lantern so you can log in", "Gr33n-Lantern"),
        ("just set it to Pa$$w0rd99 and we'll rotate later", "Pa$$w0rd99"),
        # the question, then the answer
        ("the password? it's qwerty123, don't tell anyone", "qwerty123"),
    ],
)
def test_passwords(text: str, secret: str) -> None:
    assert spans(credentials.password_recognizer(), text) == [secret]


@pytest.mark.parametrize(
    "text",
    [
        "my password is expired",
        "the password is in the vault",
        "password is incorrect, try again",
        "forgot my password again lol",
        "password: ********",
        "password = os.environ['DB_PASSWORD']",
        "password: str = ''",
        "password = user_password",
        "compass: north",
        "bypass: true",
        "reset your password to continue",
        "I'll pass on that",
        "my pass is expiring friday",
        "password policy requires 12 chars",
        "password reset-flow is broken",
        "pwd /home/bob/src",
        "login: 9:30 tomorrow",
        "creds: vault/prod/db",
        "it's saved in 1password: see the team vault",
        "if password == '':",
        'if not password: raise ValueError("missing")',
        "mysql -u root -p",
        "pw: see 1password",
        "password is 8 characters",
        "password must be 12345 characters long",
        "pw is on the sticky note",
        "my password is the same as my email",
        "the wifi is down again",
        "the wifi here is slow",
        "set the account to read-only",
        "psql -h db -p 5432",
        "I reset it to the default settings",
        "set it to v2.14.0-rc1 before the release",
        "changed it to PROJ-1234 in the board",
        "set it to en_US.UTF-8 on the server",
        "switch it to https://intranet.example.com/login",
        "set it to /var/log/app.log",
        "set it to --no-cache",
        "update it to 2026-12-07T09:00:00Z",
        "set it to TeamAlpha for the channel",
        "reset it to $DEFAULT_PASSWORD",
    ],
)
def test_password_negatives(text: str) -> None:
    assert spans(credentials.password_recognizer(), text) == []


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("PIN is 4821", "4821"),
        ("my pin number is 0451.", "0451"),
        ("door code is 1234#", "1234"),
        ("the otp is 493021", "493021"),
        ("cvv: 123", "123"),
        ("set the pin to 4471 for the locker", "4471"),
        ("he changed the alarm code to 8812", "8812"),
    ],
)
def test_pins(text: str, secret: str) -> None:
    assert spans(credentials.pin_recognizer(), text) == [secret]


@pytest.mark.parametrize(
    "text", ["pin the tab", "PIN is wrong", "pin 12 on the header", "pinned 4821 messages", "BBM PIN 32783FC8",
             "pin to 2026 roadmap", "change the pin to your birthday"]
)
def test_pin_negatives(text: str) -> None:
    assert spans(credentials.pin_recognizer(), text) == []


# --- credentials: secrets named by context -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("template", "secret"),
    [
        ("API_KEY={}", rand(24)),
        ('"client_secret": "{}"', rand(30)),
        ("x-api-key: {}", rand(32)),
        ("SECRET_KEY = '{}'", "django-insecure-" + rand(20)),
    ],
)
def test_secret_assignments(template: str, secret: str) -> None:
    assert spans(credentials.secret_assignment_recognizer(), template.format(secret)) == [secret]


@pytest.mark.parametrize(
    "text",
    [
        "max_tokens=2048",
        "token: ${{ secrets.GITHUB_TOKEN }}",
        "API_KEY=os.environ['API_KEY']",
        "secret: true",
        'api_key = "your-api-key-here"',
        "token_count: 12345678",
        "auth: password",
    ],
)
def test_secret_assignment_negatives(text: str) -> None:
    assert spans(credentials.secret_assignment_recognizer(), text) == []


def test_high_entropy_token_near_cue() -> None:
    recognizer = credentials.high_entropy_token_recognizer()
    token, hex_token, short = rand(32), rand(40, "0123456789abcdef"), rand(20)
    assert spans(recognizer, f"here is the api token {token} for staging") == [token]
    assert spans(recognizer, f"{hex_token} <- that's the secret") == [hex_token]
    assert spans(recognizer, f"auth: {short}") == [short]


def test_long_mixed_case_random_token_needs_no_cue() -> None:
    secret = rand(30, ALNUM + "/+") + "/" + rand(9)
    assert spans(credentials.high_entropy_token_recognizer(), f"this one works: {secret}") == [secret]


@pytest.mark.parametrize(
    "text",
    [
        "commit " + rand(40, "0123456789abcdef") + " fixed it",  # random, but no credential word
        "request id " + rand(24) + " failed",
        "uuid 550e8400-e29b-41d4-a716-446655440000 and sha " + rand(64, "0123456789abcdef"),
        "see https://docs.example.com/d/" + rand(44) + "/edit",
        "the token refresh lives in getAccessTokenForUser123",  # identifier, not random
        "token: release-2024-build-notes",
        "secret santa list is in /home/shared/2024/santa_list_v2.txt",
    ],
)
def test_high_entropy_negatives(text: str) -> None:
    assert spans(credentials.high_entropy_token_recognizer(), text) == []


# --- roster --------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def roster_recognizer(roster: Roster) -> roster_family.RosterRecognizer:
    return roster_family.RosterRecognizer(roster)


def hits(recognizer: EntityRecognizer, text: str) -> list[tuple[str, str, str | None]]:
    results = recognizer.analyze(text, entities=[], nlp_artifacts=None)
    return [(text[r.start : r.end], r.entity_type, r.recognition_metadata["subject"]) for r in results]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Priya Raman joined", [("Priya Raman", "PERSON", "E10023")]),
        ("priya raman joined", [("priya raman", "PERSON", "E10023")]),
        ("ping @praman or praman", [("@praman", "PERSON", "E10023"), ("praman", "PERSON", "E10023")]),
        ("mail priya.raman@corp.example.com", [("priya.raman@corp.example.com", "EMAIL_ADDRESS", "E10023")]),
        ("Alex Kim and Alex", [("Alex Kim", "PERSON", "E10025"), ("Alex", "PERSON", None)]),
        ("ask Will to review", [("Will", "PERSON", "E10024")]),
        ("Will Grant is out", [("Will Grant", "PERSON", "E10024")]),
        ("pretty sure will grant is leaving", [("will grant", "PERSON", "E10024")]),  # a full name in any case
        ("Will's laptop died", [("Will", "PERSON", "E10024")]),
        ("Will, can you check?", [("Will", "PERSON", "E10024")]),
        ("May said hi", [("May", "PERSON", "E10027")]),
        ("May O’Brien joined", [("May O’Brien", "PERSON", "E10027")]),
        ("jose alvarez is here", [("jose", "PERSON", "E10028"), ("alvarez", "PERSON", "E10028")]),
        ("Li Wu said", [("Li Wu", "PERSON", "E10029")]),
        ("talk to wgrant.", [("wgrant", "PERSON", "E10024")]),
        ("anna van dijk and Dijk", [("anna van dijk", "PERSON", "E10030"), ("Dijk", "PERSON", "E10030")]),
    ],
)
def test_roster_matches(roster_recognizer: EntityRecognizer, text: str, expected: list) -> None:
    assert hits(roster_recognizer, text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Alexander is new",  # whole words only
        "I will check",  # a word-name in lower case is the word
        "Will do, thanks",  # modal at sentence start
        "Grant access to the repo",
        "Mark as done",
        "due in May",
        "May 5 is the deadline",
        "WILL YOU STOP",
        "alex.kim@gmail.com",  # a piece of someone else's e-mail
        "<li>item</li>",  # two-letter names need capitals
        "the van is parked outside",  # a particle of "Anna van Dijk"
    ],
)
def test_roster_negatives(roster_recognizer: EntityRecognizer, text: str) -> None:
    assert hits(roster_recognizer, text) == []


def test_roster_results_carry_presidio_metadata(roster_recognizer: EntityRecognizer) -> None:
    (result,) = roster_recognizer.analyze("Priya Raman", entities=["PERSON"], nlp_artifacts=None)
    assert result.score == 1.0
    assert result.recognition_metadata == {
        RecognizerResult.RECOGNIZER_NAME_KEY: "RosterRecognizer",
        RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: roster_recognizer.id,
        "subject": "E10023",
    }


def test_roster_entity_filter_and_empty_roster(roster_recognizer: EntityRecognizer) -> None:
    assert spans(roster_recognizer, "Priya Raman priya.raman@corp.example.com", "EMAIL_ADDRESS") == [
        "priya.raman@corp.example.com"
    ]
    assert roster_family.RosterRecognizer(Roster()).analyze("Priya Raman", ["PERSON"], None) == []


# --- performance ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("factory", "text", "phrase"),
    [
        (
            performance.rating_recognizer,
            "I was rated 'below expectations' this cycle",
            "was rated 'below expectations'",
        ),
        (performance.rating_recognizer, "she got a 2 out of 5 on her review", "got a 2 out of 5"),
        (performance.rating_recognizer, "he meets expectations per his manager", "meets expectations"),
        (performance.rating_recognizer, "Rating: Exceeds Expectations", "Rating: Exceeds Expectations"),
        (performance.rating_recognizer, "got calibrated down again", "got calibrated down"),
        (performance.rating_recognizer, "they calibrated him down", "calibrated him down"),
        (performance.disciplinary_recognizer, "he's on a PIP until March", "he's on a PIP"),
        (performance.disciplinary_recognizer, "a performance improvement plan", "performance improvement plan"),
        (performance.disciplinary_recognizer, "she got a written warning", "written warning"),
        (performance.disciplinary_recognizer, "this is his final warning", "final warning"),
        (performance.compensation_recognizer, "my bonus was 12%", "bonus was 12%"),
        (performance.compensation_recognizer, "got a raise of 3% lol", "raise of 3%"),
        (performance.compensation_recognizer, "a 3% raise", "3% raise"),
        (performance.compensation_recognizer, "my salary is $145k", "salary is $145k"),
        (performance.compensation_recognizer, "there's a comp change coming", "comp change"),
        (performance.compensation_recognizer, "I make 120k a year", "make 120k a year"),
        (performance.promotion_recognizer, "Will got promoted to Staff!", "got promoted to Staff"),
        (performance.promotion_recognizer, "I was passed over for promotion", "passed over for promotion"),
        (performance.promotion_recognizer, "they promoted her to senior manager", "promoted her to senior manager"),
        (performance.termination_recognizer, "she is being let go", "being let go"),
        (performance.termination_recognizer, "Bob got fired yesterday", "got fired yesterday"),
        (performance.termination_recognizer, "they decided to let him go.", "let him go"),
        (performance.termination_recognizer, "I got laid off", "got laid off"),
        (performance.termination_recognizer, "he was terminated last week", "was terminated last week"),
    ],
)
def test_performance_phrases(factory, text: str, phrase: str) -> None:
    assert spans(factory(), text) == [phrase]


@pytest.mark.parametrize(
    "text",
    [
        "promote the build to prod",
        "the build was promoted to prod",
        "the replica was promoted to primary",
        "let go of the mouse",
        "let me go check",
        "the alert fired twice",
        "the job was fired by cron",
        "fired off an email",
        "the instance was terminated",
        "the process got terminated by the OOM killer",
        "sales were below expectations",
        "this PR needs improvement",
        "got 3 out of 5 tickets done",
        "raise the limit to 5%",
        "we need to raise it by 10%",
        "a 10% increase in latency",
        "we made $50k in sales",
        "paid $20 for lunch",
        "pip install requests",
        "the PIP package index is slow",
        "the app is rated 4.5 stars",
        "the promo code is SAVE20",
        "comp sci 101",
    ],
)
def test_performance_negatives(text: str) -> None:
    for factory in (
        performance.rating_recognizer,
        performance.disciplinary_recognizer,
        performance.compensation_recognizer,
        performance.promotion_recognizer,
        performance.termination_recognizer,
    ):
        assert spans(factory(), text) == [], factory.__name__


# --- contact -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("call 415-555-0134 ext. 204 after 3", "415-555-0134 ext. 204"),
        ("(415) 555 0134 x12", "(415) 555 0134 x12"),
        ("+44 20 7946 0958", "+44 20 7946 0958"),
        ("415.555.0134", "415.555.0134"),
        ("+1 (415) 555-0134 Ext. 7", "+1 (415) 555-0134 Ext. 7"),
        ("my cell is 4155550134", "4155550134"),
        ("ring me on 020 7946 0958", "020 7946 0958"),
        ("dial ext 4021", "ext 4021"),
        ("my number is 0490 75 40 81", "0490 75 40 81"),
    ],
)
def test_phone_numbers(text: str, number: str) -> None:
    assert spans(contact.phone_recognizer(), text) == [number]


@pytest.mark.parametrize(
    "text",
    ["order 4155550134 shipped", "ticket 2023-10-12", "version 1.2.3.4", "IP 10.0.3.4", "SSN 123-45-6789",
     "browser extension 2043", "build 123-456-7890", "call on 2024-03-01", "call at 10.30", "shard 490 75 40 81"],
)
def test_phone_negatives(text: str) -> None:
    assert spans(contact.phone_recognizer(), text) == []


@pytest.mark.parametrize(
    ("text", "address"),
    [
        ("I live at 221B Baker Street, London NW1 6XE now", "221B Baker Street, London NW1 6XE"),
        ("ship to 1600 Pennsylvania Ave NW, Washington, DC 20500", "1600 Pennsylvania Ave NW, Washington, DC 20500"),
        ("123 Main St Apt 4B", "123 Main St Apt 4B"),
        ("1 Infinite Loop, Cupertino, CA 95014", "1 Infinite Loop, Cupertino, CA 95014"),
        ("i live at 12 oak street lol", "12 oak street"),
        ("Flat 4, Wright Close, Edwardschester, SS9 5EB", "Flat 4, Wright Close, Edwardschester, SS9 5EB"),
        ("send it to PO Box 4411", "PO Box 4411"),
        (
            "ship to 4966 Bond Street\nSuite 413\nWarwick, RI 02886\nUSA",
            "4966 Bond Street\nSuite 413\nWarwick, RI 02886\nUSA",
        ),
        ("I live at 12 Main St, Thanks for asking", "12 Main St"),
    ],
)
def test_street_addresses(text: str, address: str) -> None:
    assert spans(address_family.address_recognizer(), text) == [address]


@pytest.mark.parametrize(
    ("text", "address"),
    [
        ("it's 123 main street apartment 4b", "123 main street apartment 4b"),
        ("pick me up at 9 willow close", "9 willow close"),
        ("8 bis avenue Victor Hugo", "8 bis avenue Victor Hugo"),
        ("12 ter rue des Lilas", "12 ter rue des Lilas"),
        ("Av. Paulista, 1578", "Av. Paulista, 1578"),
    ],
)
def test_street_addresses_as_people_say_them(text: str, address: str) -> None:
    assert spans(address_family.address_recognizer(), text) == [address]


@pytest.mark.parametrize(
    "text",
    ["the 9 Supreme Court justices", "we have 3 more things on my way", "ordered 2 Large Drive bays",
     "i have 3 main points", "we have 3 main streets", "take the 2 side roads", "the 5 high street shops are shut",
     "the 2 bis"],
)
def test_street_address_negatives(text: str) -> None:
    assert spans(address_family.address_recognizer(), text) == []


@pytest.mark.parametrize(
    ("text", "day"),
    [
        ("born 03/14/1988", "03/14/1988"),
        ("DOB: 1988-03-14", "1988-03-14"),
        ("my birthday is March 3rd", "March 3rd"),
        ("date of birth 14 March 1988", "14 March 1988"),
        ("14.03.1988 (DOB)", "14.03.1988"),
    ],
)
def test_dates_of_birth(text: str, day: str) -> None:
    assert spans(contact.dob_recognizer(), text) == [day]


@pytest.mark.parametrize(
    ("text", "year"),
    [
        ("I was born in 1987, so the form says 39", "1987"),
        ("she was born back in 1991 in Leeds", "1991"),
        ("YOB: 1979", "1979"),
        ("birth year 1985 per the HR file", "1985"),
        ("Jahrgang 1972, also bald 55", "1972"),
        ("er ist 1987 geboren und wohnt in Köln", "1987"),
        ("née en 1980 à Lille", "1980"),
        ("nacida en 1990 en Quito", "1990"),
        ("nascido em 1988 no Porto", "1988"),
        ("hij is geboren in 1975", "1975"),
        ("my son was born in 2019 and starts school soon", "2019"),
    ],
)
def test_years_of_birth(text: str, year: str) -> None:
    assert spans(contact.dob_recognizer(), text) == [year]


@pytest.mark.parametrize(
    ("text", "day"),
    [
        ("Employee (b. 1987-03-14) moved teams", "1987-03-14"),
        ("nació el 14 de marzo de 1987", "14 de marzo de 1987"),
        ("ela nasceu em 3 de maio de 1990", "3 de maio de 1990"),
    ],
)
def test_dates_of_birth_after_an_abbreviation_or_a_past_tense(text: str, day: str) -> None:
    assert spans(contact.dob_recognizer(), text) == [day]


@pytest.mark.parametrize(
    "text",
    ["meeting on 03/14/2024", "born on 13/13/1988", "the DOB field is MM/DD/YYYY", "born in the 80s",
     "the project was born in 2019 as a hackathon idea", "the company was born in 1998 in a garage",
     "our team was born in 2021 after the merger", "see item b. 12/03 for the deadline", "born in 2090, says the form",
     "version 2019 released in 2020"],
)
def test_date_of_birth_negatives(text: str) -> None:
    assert spans(contact.dob_recognizer(), text) == []


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("emp no. 23-8841 on the form", "23-8841"),
        ("I'm E-20451 in workday", "E-20451"),
        ("employee id is e 20451", "e 20451"),
        ("numéro d'employé 44512", "44512"),
        ("número de empleado 3321", "3321"),
        ("o número de funcionário é 88120", "88120"),
        ("numero dipendente 55102", "55102"),
        ("medewerkersnummer 88123", "88123"),
        ("Mitarbeiternummer: 4711", "4711"),
        ("matrícula 40921", "40921"),
    ],
)
def test_employee_ids_in_more_forms(roster: Roster, text: str, value: str) -> None:
    assert spans(contact.EmployeeIdRecognizer(roster), text) == [value]


@pytest.mark.parametrize(
    "text",
    ["employee ID card 2024 renewal", "employee of the month 2024", "staff id on 12 badges", "the ticket id is 44817",
     "PR-2231 was merged", "E11000 duplicate key error", "numero di telefono 5550142"],
)
def test_employee_id_look_alikes(roster: Roster, text: str) -> None:
    assert spans(contact.EmployeeIdRecognizer(roster), text) == []


@pytest.mark.parametrize(
    ("text", "email"),
    [
        ("email: paul[at]initech[dot]com", "paul[at]initech[dot]com"),
        ("send it to bob (at) hooli (dot) com", "bob (at) hooli (dot) com"),
        ("ana.lima [at] example.com.br if you need it", "ana.lima [at] example.com.br"),
        ("reach j.doe{at}corp{dot}io", "j.doe{at}corp{dot}io"),
        ("mail x_y <at> firm <dot> de", "x_y <at> firm <dot> de"),
    ],
)
def test_emails_written_to_dodge_scrapers(text: str, email: str) -> None:
    assert spans(contact.obfuscated_email_recognizer(), text) == [email]


@pytest.mark.parametrize(
    "text",
    ["meet [at] 3pm", "see the note (at) the end", "for x in arr[at]i.length", "reply (at) your convenience (dot) thanks",
     "jane@acme.com"],
)
def test_bracketed_at_look_alikes(text: str) -> None:
    assert spans(contact.obfuscated_email_recognizer(), text) == []


def test_employee_ids(roster: Roster) -> None:
    recognizer = contact.EmployeeIdRecognizer(roster)
    assert spans(recognizer, "employee id: 4512") == ["4512"]
    assert spans(recognizer, "EMP-004512 filed it") == ["EMP-004512"]
    assert spans(recognizer, "ask E55501 about it") == ["E55501"]
    (known,) = recognizer.analyze("ticket from E10023", ["EMPLOYEE_ID"], None)
    assert known.recognition_metadata["subject"] == "E10023"


@pytest.mark.parametrize("text", ["E11000 duplicate key error", "employee 2024 survey", "emp id is missing"])
def test_employee_id_negatives(roster: Roster, text: str) -> None:
    assert spans(contact.EmployeeIdRecognizer(roster), text) == []


@pytest.mark.parametrize(
    ("text", "host"),
    [
        ("ssh db-prod-03.corp.example.com", "db-prod-03.corp.example.com"),
        ("node ip-10-0-3-4.ec2.internal is down", "ip-10-0-3-4.ec2.internal"),
        ("ping ip-10-0-3-4", "ip-10-0-3-4"),
        ("jira.internal is slow", "jira.internal"),
        ("api.payments.svc.cluster.local", "api.payments.svc.cluster.local"),
        ("nas-01.local", "nas-01.local"),
        ("see https://wiki.corp.example.com/page", "wiki.corp.example.com"),
        (r"\\fileserver01\share", "fileserver01"),
        ("ssh into db-prod-03", "db-prod-03"),
    ],
)
def test_hostnames(text: str, host: str) -> None:
    assert spans(contact.hostname_recognizer(), text) == [host]


@pytest.mark.parametrize(
    "text",
    [
        "printer.local",
        "cp .env.local .env",
        "settings.local",
        "com.acme.internal.util",
        "from app.core.internal import x",
        "mail jane@corp.example.com",
        "see www.example.com",
        "branch feature-dev-2",
        "ping ip-999-0-3-4",
    ],
)
def test_hostname_negatives(text: str) -> None:
    assert spans(contact.hostname_recognizer(), text) == []


# --- registry and the whole detector ---------------------------------------------------------------------------


def test_families_are_registered_and_declare_policy_entities(policy: Policy, roster: Roster) -> None:
    assert set(FAMILIES) <= set(registered_families())
    for family in FAMILIES:
        only = policy_without(policy, *(f for f in registered_families() if f != family))
        recognizers = build_recognizers(DetectContext(only, roster))
        assert recognizers, family
        for recognizer in recognizers:
            assert recognizer.supported_language == policy.language
            assert set(recognizer.supported_entities) <= set(policy.entities), recognizer.name


MIXED = (
    "@praman my password is now Tr0ub4dor&3 and Will got promoted to Staff; call 415-555-0134 ext. 204, "
    "ssh db-prod-03.corp.example.com, Priya Raman (E10023) lives at 12 Main St, Springfield, IL 62701, DOB 03/14/1988"
)
MIXED_EXPECTED = {
    ("PERSON", "@praman", "E10023"),
    ("CREDENTIAL", "Tr0ub4dor&3", None),
    ("PERSON", "Will", "E10024"),
    ("PERFORMANCE", "got promoted to Staff", None),
    ("PHONE_NUMBER", "415-555-0134 ext. 204", None),
    ("HOSTNAME", "db-prod-03.corp.example.com", None),
    ("PERSON", "Priya Raman", "E10023"),
    ("EMPLOYEE_ID", "E10023", "E10023"),
    ("STREET_ADDRESS", "12 Main St, Springfield, IL 62701", None),
    ("DATE_OF_BIRTH", "03/14/1988", None),
}
FAMILY_ENTITIES = {
    "credentials": {"CREDENTIAL"},
    "roster": {"PERSON", "EMAIL_ADDRESS"},
    "performance": {"PERFORMANCE"},
    "contact": {"PHONE_NUMBER", "STREET_ADDRESS", "DATE_OF_BIRTH", "EMPLOYEE_ID", "HOSTNAME"},
}


def found(findings: list[Finding], text: str) -> set[tuple[str, str, str | None]]:
    return {(f.entity, text[f.start : f.end], f.subject) for f in findings}


def test_detector_finds_every_family_in_one_sentence(detector: Detector) -> None:
    (findings,) = detector.detect([MIXED])
    assert MIXED_EXPECTED <= found(findings, MIXED)


def test_switching_a_family_off_removes_its_findings(policy: Policy, roster: Roster) -> None:
    off = Detector(policy_without(policy, "credentials", "performance"), roster)
    (findings,) = off.detect([MIXED])
    entities = {f.entity for f in findings}
    assert not entities & (FAMILY_ENTITIES["credentials"] | FAMILY_ENTITIES["performance"])
    assert FAMILY_ENTITIES["contact"] <= entities


@pytest.mark.parametrize("family", FAMILIES)
def test_family_switch_controls_its_recognizers(policy: Policy, roster: Roster, family: str) -> None:
    """Without spaCy: the family's recognizers, and only they, find their part of the mixed sentence."""

    def findings(p: Policy) -> set[tuple[str, int, int]]:
        return {
            (r.entity_type, r.start, r.end)
            for recognizer in build_recognizers(DetectContext(p, roster))
            for r in recognizer.analyze(MIXED, recognizer.supported_entities, None)
        }

    on = policy_without(policy, "presidio_builtin", "spacy_ner")
    off = policy_without(policy, "presidio_builtin", "spacy_ner", family)
    removed = findings(on) - findings(off)
    assert removed
    assert {entity for entity, _, _ in removed} <= FAMILY_ENTITIES[family]


# --- names the roster does not know ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def nlp(policy: Policy) -> spacy.Language:
    return spacy.load(policy.model)


@pytest.fixture(scope="module")
def lexicon(policy: Policy) -> names.NameLexicon:
    return names.name_lexicon(policy.model)


def nlp_spans(recognizer: EntityRecognizer, doc: Doc) -> list[str]:
    artifacts = NlpArtifacts(
        entities=[], tokens=doc, tokens_indices=[t.idx for t in doc], lemmas=[t.lemma_ for t in doc],
        nlp_engine=None, language="en",
    )
    return sorted(doc.text[r.start : r.end] for r in recognizer.analyze(doc.text, ["PERSON"], artifacts))


def test_name_lexicon_tells_names_from_words(nlp: spacy.Language, lexicon: names.NameLexicon) -> None:
    doc = nlp("Kristensen and George will grace the story with hope after the migration")
    kinds = {t.text: lexicon.kind(t) for t in doc}
    assert kinds["Kristensen"] is names.Kind.DISTINCT
    assert kinds["George"] is names.Kind.DISTINCT  # a WordNet noun, but an English given name first
    assert kinds["grace"] is kinds["hope"] is names.Kind.WORDLIKE
    assert kinds["story"] is names.Kind.WORDLIKE  # a census surname that is an everyday word
    assert kinds["migration"] is names.Kind.NONE


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("I spent the morning with Kristensen on the migration", ["Kristensen"]),
        ("Justin Bieber takes two months off", ["Justin Bieber"]),
        ("please ask Grace about the invoice", ["Grace"]),
        ("Julieta S Almeida joined the call", ["Julieta S Almeida"]),
        ("Ferko van Dijk will be talking", ["Ferko van Dijk"]),
        ("thanks Jessum for the follow", ["Jessum"]),
        ("lol look at justin now", ["justin"]),
        ("My name is Rubija", ["Rubija"]),
        ("sometimes people call me višeslav", ["višeslav"]),
        ("Shovda is very reliable.", ["Shovda"]),
        ("Vsevolod: Who are you?\nDestiny: a friend", ["Destiny", "Vsevolod"]),
        ("i was talking about Trump today", ["Trump"]),
        ("hey kunjana how are you", ["kunjana"]),
        ("did anyone else notice gaby gave herself more soda", ["gaby"]),  # a rare lowercase lexicon name
        ("salute to sitaram katel for the help", ["sitaram katel"]),  # rare lowercase proper nouns
        ("I wo n't vote for Donald trump again", ["Donald trump"]),  # a lowercase surname after a given name
        ("Themba is obsessed with the new build", ["Themba"]),  # a rare word opening a sentence
        ("Lily I love your videos", ["Lily"]),  # spoken to
        ("wow edubes , your video is trending", ["edubes"]),
        ("Where are my keys , Summer ?", ["Summer"]),
        ("Dr . Vukovic still has the best lessons", ["Vukovic"]),  # the title's full stop split off
        ("Trump ' s a stud", ["Trump"]),  # possessive, split as in tokenised corpora
        ("have you heard nijito asano speak yet?", ["nijito asano"]),  # not grown over the word after it
        ("is that Mauro renallo ?", ["Mauro renallo"]),  # an unknown word grows a name, however written
        ("Sky enlists Stephen Fry to explain it", ["Stephen Fry"]),  # an inflected word does not
        ("a fan of lil wayne since forever", ["lil wayne"]),  # a stage-name prefix
        ("the Coen brothers made it", ["Coen brothers"]),  # a family
        ("Thank you Grace for the notes", ["Grace"]),
        ("He's injured and the Jensen novel is long", ["Jensen"]),  # "the" before it: a title, not a full name
    ],
)
def test_name_lexicon_recognizer(nlp: spacy.Language, lexicon: names.NameLexicon, text: str, expected: list) -> None:
    assert nlp_spans(names.NameLexiconRecognizer(lexicon), nlp(text)) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Will you grant me access to the repo?",
        "I hope the grace period covers it",
        "my friend told a long story",
        "Hey, goodnight everyone",
        "Happy New Year from the whole team",
        "Mark it as done please",
        "the build is green again",
        "pip install requests",
        "I'm tired and my name is on the list",
        "we moved the Kubernetes cluster to Terraform",
        "Note: the deploy is at 5\nUpdate: done\nAgenda: budget\nTODO: fix\nRe: invoice\nFYI: ok\nPS: thanks",
        "looping in finance for the Quasar rollout, a role at Initech",
        "the Green team shipped it. Will you check?",
        "ask jenkins to rerun, thx lol",
        "a great song with a mandolin coda at the end",  # rare, but dictionary words
        "Can I request you to block it?",  # a stop word before "I" is no vocative
        "Friday's game was moved, Monday ?",
    ],
)
def test_name_lexicon_negatives(nlp: spacy.Language, lexicon: names.NameLexicon, text: str) -> None:
    assert nlp_spans(names.NameLexiconRecognizer(lexicon), nlp(text)) == []


def with_entity(nlp: spacy.Language, text: str, phrase: str, label: str) -> Doc:
    doc = nlp.make_doc(text)
    start = text.index(phrase)
    doc.ents = [doc.char_span(start, start + len(phrase), label=label)]
    return doc


@pytest.mark.parametrize(
    ("phrase", "label"),
    [("Magnus Poulsen", "ORG"), ("Kristensen", "NORP"), ("Kanye West", "PRODUCT"), ("Trump", "ORG")],
)
def test_name_entity_relabel(nlp: spacy.Language, lexicon: names.NameLexicon, phrase: str, label: str) -> None:
    doc = with_entity(nlp, f"we met {phrase} at the fair", phrase, label)
    assert nlp_spans(names.NameEntityRelabelRecognizer(lexicon), doc) == [phrase]


@pytest.mark.parametrize(
    ("phrase", "label"),
    [
        ("Google", "ORG"),
        ("New Year", "EVENT"),
        ("the Finance Team of Northwind Holdings", "ORG"),
        ("Kanye", "GPE"),
        ("French", "NORP"),  # a nationality that is also a surname
        ("Acme Corp", "ORG"),  # two words: only one word alone is read again
    ],
)
def test_name_entity_relabel_negatives(
    nlp: spacy.Language, lexicon: names.NameLexicon, phrase: str, label: str
) -> None:
    doc = with_entity(nlp, f"we met {phrase} at the fair", phrase, label)
    assert nlp_spans(names.NameEntityRelabelRecognizer(lexicon), doc) == []


# --- addresses beyond US and UK streets -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("his address: 5049 Harjukuja 54, SEINÄJOKI", "5049 Harjukuja 54, SEINÄJOKI"),
        ("8514 Lyngveien 46 Apt. 085 BODØ nan", "8514 Lyngveien 46 Apt. 085 BODØ"),
        ("25615 Tawastintie 72 Apt. 004\nKNIVSTA, nan 18237", "25615 Tawastintie 72 Apt. 004\nKNIVSTA, nan 18237"),
        ("Ship to 12 Main Street\nSpringfield\nthanks", "12 Main Street\nSpringfield"),
        ("Meet me at 5100 Quadra 104\n Suite 845\n Evionnaz\n Switzerland 05377",
         "5100 Quadra 104\n Suite 845\n Evionnaz\n Switzerland 05377"),
        ("He lives on the north side of Rua Diadema 1903.", "Rua Diadema 1903"),
        ("233 Erzsébet tér 19.\n Suite 282\n Domoszló\n Hungary 34796",
         "233 Erzsébet tér 19.\n Suite 282\n Domoszló\n Hungary 34796"),
        (
            "The restaurant is located at PSC 0729, Box 5797\nAPO AP 96854. It serves",
            "PSC 0729, Box 5797\nAPO AP 96854",
        ),
        ("send it to the corner of Alšova 408 and Vedzizhev Greens", "the corner of Alšova 408 and Vedzizhev Greens"),
        ("ship it to plac Daszyńskiego 32/94, 08-638 Nysa", "plac Daszyńskiego 32/94, 08-638 Nysa"),
        ("new address: Pieperstraße 26, 52642 Badibling", "Pieperstraße 26, 52642 Badibling"),
        ("the offsite is at 27/412, Pingle Path, Hazaribagh-683155", "27/412, Pingle Path, Hazaribagh-683155"),
        ("Circuito Oaxaca 554 Interior 308, San Juan Carlos de la Montaña, TLAX 67077-9202",
         "Circuito Oaxaca 554 Interior 308, San Juan Carlos de la Montaña, TLAX 67077-9202"),
        ("returned the deposit for 14132 Levy Ferry", "14132 Levy Ferry"),
        ("please use Apt. 595 on the label", "Apt. 595"),
    ],
)
def test_international_addresses(text: str, expected: str) -> None:
    assert spans(address_family.address_recognizer(), text) == [expected]


@pytest.mark.parametrize(
    "text",
    [
        "Mac Sync Completed - September 17 , 2010 , 5:00 pm",
        "I have 3 Windows 10 machines and 2 Python 3 scripts",
        "Final 30 May 2015",
        "we shipped Release 12 on time",
        "Sprint 42 retro is at 3",
        "the test suite 3 failed",
    ],
)
def test_international_address_negatives(text: str) -> None:
    assert spans(address_family.address_recognizer(), text) == []


# --- payment cards and IBANs ------------------------------------------------------------------------------------


def luhn_complete(body: str) -> str:
    return body + next(d for d in "0123456789" if payment.luhn_valid(body + d))


@pytest.mark.parametrize(
    "template",
    ["card number {} is lost", "Please block card no {}", "charge it to {} thanks", "my cc is {}"],
)
@pytest.mark.parametrize("length", [13, 15, 16, 19])
def test_card_numbers(template: str, length: int) -> None:
    number = luhn_complete("4" + rand(length - 2, string.digits))
    assert spans(payment.card_recognizer(), template.format(number)) == [number]


def test_card_number_groups_and_twelve_digits_after_a_card_word() -> None:
    grouped = luhn_complete("601154958106091")
    grouped = " ".join(grouped[i : i + 4] for i in range(0, 16, 4))
    assert spans(payment.card_recognizer(), f"company card: {grouped} exp 02/30") == [grouped]
    maestro = luhn_complete("50386729711")
    assert spans(payment.card_recognizer(), f"limit for card {maestro}?") == [maestro]


@pytest.mark.parametrize(
    "text_of",
    [
        lambda luhn: f"order {luhn[:-1] + str((int(luhn[-1]) + 1) % 10)} shipped",  # fails the check
        lambda luhn: f"ticket {luhn_complete('50386729711')} closed",  # twelve digits, no card word
        lambda luhn: "card 0000000000000000",  # no real number repeats one digit
        lambda luhn: f"version {luhn[:4]}.{luhn[4:8]}.{luhn[8:]}",
    ],
)
def test_card_number_negatives(text_of) -> None:
    assert spans(payment.card_recognizer(), text_of(luhn_complete("4152488713445952"))) == []


def test_iban_any_case() -> None:
    recognizer = payment.iban_recognizer()
    assert spans(recognizer, "my iban is gb82west12345698765432") == ["gb82west12345698765432"]
    assert spans(recognizer, "IBAN: GB82 WEST 1234 5698 7654 32.") == ["GB82 WEST 1234 5698 7654 32"]
    assert spans(recognizer, "my iban is gb83west12345698765432") == []  # wrong check digits
    assert spans(recognizer, "see ab12cdef34567890123") == []


# --- what the published-text gate calls a leak ------------------------------------------------------------------


GATE_FILE = SUITES / "text.json"  # the suite as shipped in the package
# Samples of every leak family the gate checks, including the shapes the specific recognizers pass on purpose.
GATE_SAMPLES = {
    "email": ["ops@build.internal is the list", "write to first.last+tag@example.co.uk"],
    "phone": ["build 123-456-7890 is green", "(555) 010-4477 ext", "call +44 20 7946 0958", "+1 (555) 123-4567"],
    "credit_card": ["ts 1718000000000 logged", "order 4111 1111 1111 1112 placed", "ref 1234-5678-9012-3456-789"],
    "us_ssn": ["ssn 123-45-6789 on file", "000-12-3456"],
    "credential": [
        "key AKIAIOSFODNN7EXAMPLE in the docs",
        "token ghp_" + "a" * 36,
        "github_pat_" + rand(22) + "_x",
        "xoxb-123-abc",
        "sk_live_" + rand(24),
        "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA7\n-----END RSA PRIVATE KEY-----",
        "jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig",
        "password: expired",
        'PASSWORD="hunter 2"',
        "pwd=...",
        "db_passwd: <redacted>",
    ],
}


def gate_leak_patterns() -> dict[str, list[re.Pattern[str]]]:
    families: dict[str, list[re.Pattern[str]]] = {}
    for expectation in json.loads(GATE_FILE.read_text())["expectations"]:
        leak = expectation.get("meta", {}).get("leak")
        if leak:
            families.setdefault(leak, []).append(re.compile(expectation["kwargs"]["regex"]))
    return families


def test_gate_samples_cover_every_leak_family() -> None:
    patterns = gate_leak_patterns()
    assert set(patterns) == set(GATE_SAMPLES)
    for family, samples in GATE_SAMPLES.items():
        for sample in samples:
            assert any(p.search(sample) for p in patterns[family]), (family, sample)


def test_every_gate_leak_shape_is_redacted() -> None:
    patterns = [p for family in gate_leak_patterns().values() for p in family]
    samples = [s for family in GATE_SAMPLES.values() for s in family]
    for sample, scrubbed in zip(samples, scrub_texts(samples), strict=True):
        assert not [p.pattern for p in patterns if p.search(scrubbed)], sample


@pytest.mark.parametrize(
    "text", ["meet at 10:30", "version 3.8.0", "ticket 12345678", "pass: true", "the password policy", "2024-03-01"]
)
def test_gate_shape_negatives(text: str) -> None:
    for recognizer in build_recognizers(DetectContext(policy_only("gate_shapes"), Roster())):
        assert spans(recognizer, text) == [], recognizer.name


def policy_only(family: str) -> Policy:
    base = load_policy()
    return policy_without(base, *(f for f in registered_families() if f != family))


@pytest.mark.parametrize(
    ("family", "text", "entity"),
    [
        ("payment", f"card {luhn_complete('415248871344595')} lost", "CREDIT_CARD"),
        ("gate_shapes", "build 123-456-7890 is green", "PHONE_NUMBER"),
        ("contact", "PSC 0729, Box 5797\nAPO AP 96854", "STREET_ADDRESS"),
    ],
)
def test_new_family_switches(family: str, text: str, entity: str) -> None:
    on = build_recognizers(DetectContext(policy_only(family), Roster()))
    assert any(r.entity_type == entity for rec in on for r in rec.analyze(text, rec.supported_entities, None))
    off = policy_without(load_policy(), family)
    assert not {rec.name for rec in on} & {rec.name for rec in build_recognizers(DetectContext(off, Roster()))}


def test_presidio_phone_recognizer_runs_only_on_digit_runs() -> None:
    from pipeline.detect.builtin import DigitGatedPhoneRecognizer

    recognizer = DigitGatedPhoneRecognizer(supported_regions=["US", "GB"])
    assert recognizer.name == "PhoneRecognizer"  # the policy switch keeps Presidio's name
    assert spans(recognizer, "call me on +44 20 7946 0958 tomorrow") == ["+44 20 7946 0958"]
    assert spans(recognizer, "3 cats, 2 dogs and 1 fish at 10:30") == []


def test_person_spans_leave_the_possessive_out(detector: Detector) -> None:
    text = "per Michael Franklin's comment on the PR, I reverted it"
    (findings,) = detector.detect([text])
    names_found = {text[f.start : f.end] for f in findings if f.entity == "PERSON"}
    assert "Michael Franklin" in names_found
    assert not any(name.endswith("'s") for name in names_found)


def test_context_words_lift_only_results_of_recognizers_that_declare_them() -> None:
    """The engine's context boost (in place of Presidio's lemma-based enhancer) reads each recognizer's own words."""
    from pipeline.detect.cues import ContextBoost

    with_context = spans_module.SpanRecognizer(
        "US_SSN", [spans_module.SpanPattern.of("ssn", r"\d{3}-\d{2}-\d{4}", 0.05)], name="WithContext"
    )
    with_context.context = ["ssn"]
    without = spans_module.SpanRecognizer(
        "PHONE_NUMBER", [spans_module.SpanPattern.of("p", r"\d{3}-\d{4}", 0.3)], name="Without"
    )
    text = "my SSN# 123-45-6789 or call 555-0134"
    doc = spacy.blank("en")(text)
    boost = ContextBoost([with_context, without])
    cued, uncued = with_context.analyze(text, ["US_SSN"]), without.analyze(text, ["PHONE_NUMBER"])
    boost.apply(doc, with_context, cued)
    boost.apply(doc, without, uncued)
    assert [round(r.score, 2) for r in cued] == [0.4]  # 0.05 + 0.35, as Presidio's enhancer
    assert [r.score for r in uncued] == [0.3]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("My zip code is 2200", "2200"),
        ("ZIP: 7412 SL", "7412 SL"),
        ("my postal code is 90010-170.", "90010-170"),
        ("postcode: SW1A 1AA", "SW1A 1AA"),
        ("Looking to support Slashdb in ARENDAL 4844 in its mission", "4844"),
        ("greetings from Costamezzana 43015!", "43015"),
    ],
)
def test_postal_codes(text: str, expected: str) -> None:
    assert spans(address_family.postal_code_recognizer(), text) == [expected]


@pytest.mark.parametrize(
    "text",
    [
        "meet in Room 3021 at noon",
        "fixed in Release 4410.",
        "we moved in Windows 2019 to",
        "my pin code is 4921",
        "ticket 12345 is in Sprint 4521 now",
    ],
)
def test_postal_code_negatives(text: str) -> None:
    assert spans(address_family.postal_code_recognizer(), text) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("I live at 12 Main Street\nThanks", "12 Main Street"),
        ("Ship to 12 Main Street NOW please", "12 Main Street"),
        ("at 12 Main St, Springfield, IL 62701, DOB 03/14/1988", "12 Main St, Springfield, IL 62701"),
        ("It is 91211 Koepenicker Str. 74 Suite 980 Reichenbach Rheinland-Pfalz", "91211 Koepenicker Str. 74 Suite 980 Reichenbach Rheinland-Pfalz"),
        ("send to 19902 Dobrovského 1394 Apt. 066\nSt Georges, QC 54256", "19902 Dobrovského 1394 Apt. 066\nSt Georges, QC 54256"),
        ("my landlord returned the deposit for 9 Mathew Ports", "9 Mathew Ports"),
        ("at 704 1436 Redbud Drive\nCite Essanaouber\n, 32\n 60810. It serves", "704 1436 Redbud Drive\nCite Essanaouber\n, 32\n 60810"),
    ],
)
def test_address_block_tails(text: str, expected: str) -> None:
    assert spans(address_family.address_recognizer(), text) == [expected]


# --- context words without lemmas (pipeline/detect/cues.py) ---------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value", "entity"),
    [
        ("social is 132488545", "132488545", "US_SSN"),
        ("for the benefits form: SSN 760414566", "760414566", "US_SSN"),
        ("I think you put your SSN in the doc (810607798), might want to delete", "810607798", "US_SSN"),
        ("My driver's license number is 6940579", "6940579", "US_DRIVER_LICENSE"),
        ("My driver's license number is F162823540116", "F162823540116", "US_DRIVER_LICENSE"),
    ],
)
def test_weak_shapes_count_after_their_context_words(detector: Detector, text: str, value: str, entity: str) -> None:
    """Presidio scores these shapes below the threshold; a context word before them lifts them, as its
    lemma-based enhancer did, without spaCy's tagger and lemmatizer."""
    (findings,) = detector.detect([text])
    assert (entity, value, None) in found(findings, text)


@pytest.mark.parametrize(
    ("text", "entity"),
    [
        ("Alicia Mills's number is 06 80767683, she's the one", "US_DRIVER_LICENSE"),  # not "lic" in "Alicia"
        ("@trippy_tay :: [ Mixtape ] Trap Talk :: Jan . 30th !", "IP_ADDRESS"),  # not "ip" in "trippy"
        ("Pushti I think you put your SSN in the doc (287708533)", "US_PASSPORT"),  # not "us" in "Pushti"
        ("my order number is 123456789", "US_SSN"),
    ],
)
def test_context_words_are_words_not_substrings(detector: Detector, text: str, entity: str) -> None:
    (findings,) = detector.detect([text])
    assert entity not in {f.entity for f in findings}


def test_recent_texts_are_answered_from_the_bounded_cache(detector: Detector, monkeypatch: pytest.MonkeyPatch) -> None:
    """A text seen in an earlier batch gets the same findings without another NLP pass, and the cache stays
    bounded."""
    texts = ["Priya Raman said ok", "ok", "call 415-555-0134 ext. 204"]
    first = detector.detect(texts)
    calls: list[int] = []
    original = detector.nlp.pipe
    monkeypatch.setattr(detector.nlp, "pipe", lambda docs, **kw: (calls.append(len(list(docs))), original([], **kw))[1])
    assert detector.detect(list(reversed(texts))) == list(reversed(first))
    assert calls == [0]
    monkeypatch.setattr(engine_module, "RECENT_TEXTS", 2)
    monkeypatch.setattr(detector.nlp, "pipe", original)
    detector.detect(["a new text about Priya Raman"])
    assert len(detector._recent) == 2


@pytest.mark.parametrize("text", ["we did 3 Code Reviews.", "we shipped 4 Minor Fixes today", "ran 5 Miles", "3 point plan"])
def test_short_numbered_phrases_are_not_streets(text: str) -> None:
    assert spans(address_family.address_recognizer(), text) == []
