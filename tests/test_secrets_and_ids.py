"""Issue 11's recognizers on phrasings written for these tests: vendor keys by documented format, detect-secrets'
plugins, random values under secret-worded keys, passphrases and codes said in many ways and languages, URLs that
keep their public host, code identifiers that are no people, government ids with stdnum check digits, bank
details, dates of birth and employee ids."""

from __future__ import annotations

import random
import string

import pytest
from stdnum import verhoeff
from stdnum.es import dni
from stdnum.fr import nir
from stdnum.it import codicefiscale
from stdnum.us import rtn

from pipeline.detect.builtin import personal_url_parts
from pipeline.detect.contact import EmployeeIdRecognizer, dob_recognizer
from pipeline.detect.credentials import (
    DetectSecretsRecognizer,
    provider_key_recognizer,
    secret_assignment_recognizer,
)
from pipeline.detect.engine import Detector, Finding
from pipeline.detect.identifiers import bank_recognizer, government_id_recognizer
from pipeline.detect.passphrases import passphrase_recognizer
from pipeline.detect.vetoes import drop_vetoed, is_code_identifier
from pipeline.offline import make_offline
from pipeline.policy import ENTITIES, RECOGNIZER_FAMILIES, load_policy
from pipeline.roster import Employee, Roster

rng = random.Random(11)
ALNUM = string.ascii_letters + string.digits


def rand(n: int, alphabet: str = ALNUM) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


def spans(recognizer, text: str) -> list[str]:  # type: ignore[no-untyped-def]
    return [text[r.start : r.end] for r in recognizer.analyze(text, [])]


# --- vendor formats and detect-secrets ---------------------------------------------------------------------------

HEX = "0123456789abcdef"
VENDOR_KEYS = [
    "lin_api_" + rand(40),
    "pplx-" + rand(48),
    "gsk_" + rand(52),
    "r8_" + rand(37),
    "xai-" + rand(80),
    "dp.st." + rand(43),
    "PMAK-" + rand(24, HEX) + "-" + rand(34, HEX),
    "pnu_" + rand(36),
    "pul-" + rand(40, HEX),
    "rubygems_" + rand(48, HEX),
    "shippo_live_" + rand(40, HEX),
    "sbp_" + rand(40, HEX),
    "NRAK-" + rand(27, string.ascii_uppercase + string.digits),
    "dt0c01." + rand(24) + "." + rand(64),
    "hvs." + rand(95),
    "glsa_" + rand(32) + "_" + rand(8, HEX),
    "sntryu_" + rand(64, HEX),
    "LTAI" + rand(20),
    "xkeysib-" + rand(64, HEX) + "-" + rand(16),
]


@pytest.mark.parametrize("key", VENDOR_KEYS)
@pytest.mark.parametrize("template", ["{k}", "export SERVICE_TOKEN={k}", '{{"auth": "{k}"}}', "use `{k}` for the bot"])
def test_vendor_keys_are_found_by_their_format(key: str, template: str) -> None:
    assert key in spans(provider_key_recognizer(), template.format(k=key))


@pytest.mark.parametrize(
    "text",
    [
        "lin_api_key is documented in the README",  # the prefix as a word, no key
        "set NRAK-EXAMPLE-KEY in your env",
        "hvs.short",
        "the pul-request template",
    ],
)
def test_vendor_prefixes_without_a_key_survive(text: str) -> None:
    assert spans(provider_key_recognizer(), text) == []


def test_detect_secrets_plugins_find_their_vendors() -> None:
    recognizer = DetectSecretsRecognizer()
    mailchimp = rand(32, "0123456789abcdef") + "-us14"
    telegram = "5" + rand(8, string.digits) + ":" + rand(35)
    assert mailchimp in spans(recognizer, f"MAILCHIMP={mailchimp}")
    assert telegram in spans(recognizer, f"bot token {telegram} for alerts")
    assert spans(recognizer, "nothing secret in this line at all") == []


def test_webhook_urls_are_secret_whole() -> None:
    url = "https://hooks.zapier.com/hooks/catch/4419023/b7x2kq9z/"
    assert url.rstrip("/") in "".join(spans(provider_key_recognizer(), f"posting to {url} now"))
    assert spans(provider_key_recognizer(), "docs at https://docs.github.com/en/webhooks/about-webhooks") == []


# --- values under secret-worded keys and flags --------------------------------------------------------------------


@pytest.mark.parametrize(
    "template",
    [
        "stripeKey := \"{v}\"",
        "ACME_API_TOKEN={v}",
        "  client_secret: {v}",
        "'X-Auth-Token': '{v}'",
        "$config['signing_salt'] = '{v}';",
        "deploy --access-token {v}",
        "[default]\naws_session_token = {v}",
    ],
)
def test_random_values_under_secret_keys(template: str) -> None:
    value = rand(28)
    assert value in spans(secret_assignment_recognizer(), template.format(v=value))


@pytest.mark.parametrize(
    "text",
    [
        "token_url: https://auth.example.com/oauth/token",
        "session_timeout: 36000000000",
        "api_version = 2024-06-01",
        "auth_method = client_credentials_flow",
        "SECRET_KEY=${DJANGO_SECRET_KEY}",
        "private_key_path: ~/.ssh/id_ed25519",
        "access_log: /var/log/nginx/access.log",
    ],
)
def test_non_secret_values_under_secret_keys_survive(text: str) -> None:
    assert spans(secret_assignment_recognizer(), text) == []


# --- passwords, codes and passphrases said in many ways ------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("the code for the side gate is 5823", "5823"),
        ("PIN to the lockbox: 0719", "0719"),
        ("Gr33nTea!9 is my new password", "Gr33nTea!9"),
        ("7731 — that's the alarm code", "7731"),
        ("'lighthouse' was the wifi password", "lighthouse"),
        ("the vpn password is, um, Kettle-42", "Kettle-42"),
        ("mein Passwort lautet Regen2023", "Regen2023"),
        ("le code de la porte est 4417", "4417"),
        ("el código de acceso es 90210", "90210"),
        ("a senha do wifi é Cafe#2024", "Cafe#2024"),
        ("de deurcode is 3141", "3141"),
        ("la contraseña es Perro77", "Perro77"),
        ("my passphrase is purple otter window basket", "purple otter window basket"),
        ("seed phrase: orbit lemon canyon whisper velvet drum", "orbit lemon canyon whisper velvet drum"),
        ("backup codes: 7H2K-91QZ, 4MXR-73PA", "7H2K-91QZ, 4MXR-73PA"),
        ("the password is capital B, r, a, v, o, two, two", "capital B, r, a, v, o, two, two"),
    ],
)
def test_credentials_in_many_word_orders_and_languages(text: str, secret: str) -> None:
    assert secret in spans(passphrase_recognizer(), text)


@pytest.mark.parametrize(
    "text",
    [
        "the password is expired again",
        "das Passwort ist falsch",
        "le mot de passe est incorrect",
        "la contraseña es incorrecta",
        "this is my password manager",
        "the door code is broken",
        "that was the password policy update",
        "my passphrase is in the vault",
    ],
)
def test_states_of_credentials_are_no_values(text: str) -> None:
    assert spans(passphrase_recognizer(), text) == []


# --- URLs keep their public host -----------------------------------------------------------------------------------


@pytest.fixture(scope="module", autouse=True)
def offline() -> None:
    make_offline()


@pytest.mark.parametrize(
    ("url", "removed"),
    [
        ("https://docs.python.org/3/library/re.html", []),
        ("https://github.com/acme/widgets/pull/412", []),
        ("https://ci:Pa55word@build.example.com/job/7", ["ci:Pa55word"]),
        ("https://github.com/search?q=jane+smith&type=users", ["jane+smith", "users"]),
        ("https://gitlab.com/users/kmarsh/projects", ["kmarsh"]),
        ("https://www.janeswoodwork.co.uk/", ["https://www.janeswoodwork.co.uk/"]),
        ("https://api.vendor-tools.io/v2/reset/Zk29fQpL0xYt7Wm3", ["Zk29fQpL0xYt7Wm3"]),
    ],
)
def test_urls_lose_only_what_identifies(url: str, removed: list[str]) -> None:
    assert [url[a:b] for a, b in personal_url_parts(url)] == removed


def test_code_like_names_are_no_links() -> None:
    assert personal_url_parts("self.name") == []
    assert personal_url_parts("setup.py") == []


# --- code identifiers are no people -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("call getUserName() first", "getUserName"),
        ("set retry_count to 3", "retry_count"),
        ("Martin = load()", "Martin"),
        ("obj.Warren is null", "Warren"),
        ("run it with --Brandon", "Brandon"),
    ],
)
def test_code_identifiers_are_vetoed(text: str, value: str) -> None:
    start = text.index(value)
    assert is_code_identifier(text, start, start + len(value))


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("Nicole: see you", "Nicole"),
        ("offer_letter_Marta_Lopez.docx", "offer_letter_Marta_Lopez"),
        ("ask Ann-Marie today", "Ann-Marie"),
        ("ping @jo_kim about it", "jo_kim"),
        ("the end.\nBrandon said", "Brandon"),
    ],
)
def test_names_stay_names(text: str, value: str) -> None:
    start = text.index(value)
    is_name = {"marta", "lopez"}.__contains__
    assert not is_code_identifier(text, start, start + len(value), is_name)


def test_a_roster_match_is_never_vetoed() -> None:
    text = "user_alias = 1"
    roster = Finding(0, 10, "PERSON", 1.0, subject="E1")
    assert drop_vetoed(text, [roster]) == [roster]


# --- government ids and bank details ------------------------------------------------------------------------------


def _cpf(nine: str) -> str:
    digits = [int(c) for c in nine]
    for weight in (10, 11):
        total = sum(d * w for d, w in zip(digits, range(weight, 1, -1)))
        digits.append((total * 10) % 11 % 10)
    s = "".join(map(str, digits))
    return f"{s[:3]}.{s[3:6]}.{s[6:9]}-{s[9:]}"


def _codice_fiscale() -> str:
    body = "BNCLRA92E41F205"
    return body + codicefiscale.calc_check_digit(body)


def _aadhaar() -> str:
    body = "47382915066"
    full = body + verhoeff.calc_check_digit(body)
    return f"{full[:4]} {full[4:8]} {full[8:]}"


def _nir() -> str:
    body = "2870375120081"
    return body + nir.calc_check_digits(body)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("passport no. X4829173 expires soon", "X4829173"),
        ("her Steuer-ID: 47 036 892 816", "47 036 892 816"),
        ("numéro de sécurité sociale 1 85 05 78 006 084 36", "1 85 05 78 006 084 36"),
        ("PESEL 92071314764 on file", "92071314764"),
        ("NI number is QQ 12 34 56 C", "QQ 12 34 56 C"),
        ("BSN: 111222333", "111222333"),
        # no cue: the check digits prove it
        ("codice {cf} in the form", "{cf}"),
        ("cpf {cpf} ok", "{cpf}"),
        ("DNI {dni} please", "{dni}"),
        ("id {aadhaar} attached", "{aadhaar}"),
        ("nir {nir}", "{nir}"),
    ],
)
def test_government_ids(text: str, value: str) -> None:
    values = {
        "cf": _codice_fiscale(),
        "cpf": _cpf("529982247"),
        "dni": "48213957" + dni.calc_check_digit("48213957"),
        "aadhaar": _aadhaar(),
        "nir": _nir(),
    }
    text, value = text.format(**values), value.format(**values)
    assert value in spans(government_id_recognizer(), text)


@pytest.mark.parametrize(
    "text",
    [
        "see RFC 7231 section 6",
        "order id 48213957",
        "the passport office opens at 9",
        "ticket 48213957X was closed",  # no valid DNI check letter
        "version 2024.06.01 shipped",
    ],
)
def test_numbers_that_are_no_government_ids(text: str) -> None:
    assert spans(government_id_recognizer(), text) == []


def test_bank_details_each_their_own_span() -> None:
    routing = "02100002" + rtn.calc_check_digit("02100002")
    text = f"routing number {routing}, account no. 4409 1837 22, sort code 40-47-84, IFSC HDFC0004821, BSB 062-000"
    found = spans(bank_recognizer(), text)
    assert {routing, "4409 1837 22", "40-47-84", "HDFC0004821", "062-000"} <= set(found)
    bad = "routing number 021000022"  # fails the ABA checksum
    assert not rtn.is_valid("021000022") and spans(bank_recognizer(), bad) == []


# --- dates of birth and employee ids ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("DOB 19910723", "19910723"),
        ("born 23-Jul-1991", "23-Jul-1991"),
        ("birthday Jul-23-91", "Jul-23-91"),
        ("her birthday is July the 23rd", "July the 23rd"),
        ("geboren am 23. Juli 1991", "23. Juli 1991"),
        ("née le 23 juillet 1991", "23 juillet 1991"),
        ("fecha de nacimiento 23 de julio de 1991", "23 de julio de 1991"),
        ("date of birth: 23.07.", "23.07."),
        ("scan_dob_1991-07-23.pdf", "1991-07-23"),
    ],
)
def test_dates_of_birth_in_written_forms(text: str, value: str) -> None:
    assert value in spans(dob_recognizer(), text)


def test_dates_without_a_birth_cue_survive() -> None:
    assert spans(dob_recognizer(), "the release is on 23-Jul-2025") == []


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("HR case number HR-2024-0117 is open", "HR-2024-0117"),
        ("badge #B-44812 was deactivated", "B-44812"),
        ("Personalnummer 448120", "448120"),
        ("E20931_review_final.pdf", "E20931"),
    ],
)
def test_employee_ids_of_several_shapes(text: str, value: str) -> None:
    recognizer = EmployeeIdRecognizer(Roster((Employee("E20931", "Tomas Berg"),)))
    assert value in spans(recognizer, text)


# --- policy vocabulary ---------------------------------------------------------------------------------------------


def test_new_entities_and_family_are_in_the_policy() -> None:
    policy = load_policy()
    assert {"NATIONAL_ID", "BANK_ACCOUNT"} <= set(ENTITIES) and {"NATIONAL_ID", "BANK_ACCOUNT"} <= set(policy.entities)
    assert "identifiers" in RECOGNIZER_FAMILIES and policy.recognizer_enabled("identifiers")


def test_the_detector_runs_the_new_families_end_to_end() -> None:
    detector = Detector(load_policy(), Roster())
    text = "passport no. X4829173, sort code 40-47-84, and the alarm code is seven seven three one"
    entities = {f.entity for f in detector.detect([text])[0]}
    assert {"NATIONAL_ID", "BANK_ACCOUNT", "CREDENTIAL"} <= entities


def test_a_street_absorbs_the_places_and_codes_after_it() -> None:
    from pipeline.detect.grow import grow_addresses

    text = "ship to 12 Rue Oberkampf, 75011 Paris, France. Thanks"
    street = Finding(8, 24, "STREET_ADDRESS", 0.9)
    paris = Finding(text.index("Paris"), text.index("Paris") + 5, "LOCATION", 0.85)
    france = Finding(text.index("France"), text.index("France") + 6, "LOCATION", 0.85)
    grown = grow_addresses(text, [street, paris, france])
    assert grown[0].end == text.index(".") and grown[1:] == [paris, france]
    alone = "meet at 12 Main St, Thanks for asking"
    assert grow_addresses(alone, [Finding(8, 18, "STREET_ADDRESS", 0.9)])[0].end == 18
