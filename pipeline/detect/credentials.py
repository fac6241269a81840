"""Credentials: passwords and PINs in prose, provider keys by their documented formats, and contextual secrets.

Every secret found here is removed irreversibly (policy.IRREVERSIBLE_ONLY), so the reported span is the
secret value itself, not the cue ("password is") around it: the cue keeps the sentence readable.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
from collections import Counter
from collections.abc import Callable

from presidio_analyzer import EntityRecognizer

from pipeline.detect.registry import DetectContext, register, spoken_forms
from pipeline.detect.spans import (
    SENTENCE_END,
    TRAILING,
    Check,
    SpanPattern,
    SpanRecognizer,
)

ENTITY = "CREDENTIAL"

def shannon_entropy(value: str) -> float:
    """Bits per character of the value's own character distribution."""
    counts = Counter(value)
    n = len(value)
    return -sum(c / n * math.log2(c / n) for c in counts.values())


def _has_mixed_chunk(value: str) -> bool:
    """Some separator-free chunk mixes letters and digits; "release-2024-build-notes" is words and a number."""
    return any(
        any(c.isdigit() for c in chunk) and any(c.isalpha() for c in chunk) for chunk in re.split(r"[-_./+=]", value)
    )


def _letter_digit_changes(value: str) -> int:
    """How often the value switches between letters and digits: random tokens switch often, identifiers rarely."""
    kinds = [c.isdigit() for c in value if c.isalnum()]
    return sum(a != b for a, b in zip(kinds, kinds[1:]))


# Stand-ins people paste instead of real secrets: template variables, masks, docs examples.
_PLACEHOLDER = re.compile(
    r"""^(?:\*+|[xX•#.?-]{3,}|<[^>]*>|\[[^\]]*\]|\{\{.*\}\}|\$\{.*\}|\$\(.*\)|\$[A-Za-z_]\w*|%\(?\w*\)?s|%\w+%
        |none|null|nil|undefined|true|false|str|string|int|bool|bytes|optional|required|redacted|removed
        |hidden|masked|secret|password|passwd|pass|pwd|pw|token|your[\w-]*|my[_-]?password|n/?a|tbd|todo)$""",
    re.IGNORECASE | re.VERBOSE,
)
_PLACEHOLDER_INSIDE = re.compile(r"(?i)example|placeholder|dummy|sample|your[_-]|x{6,}|\*{3,}|\.\.\.|<|\{\{|\$\{")
# Code that names a secret instead of containing one: os.environ["X"], getpass(), settings.DB_PASSWORD.
_CODE_VALUE = re.compile(
    r"""[()\[\]]|^(?:os|self|this|cls|config|settings|env|process|request|req|args|opts|options|params|cfg|conf)\.
        |^[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+$""",
    re.VERBOSE,
)


def is_placeholder(value: str) -> bool:
    """True for masks, template variables, type names and obvious doc values that are not real secrets."""
    return bool(_PLACEHOLDER.match(value))


def _plausible_key(value: str) -> bool:
    """A provider-format match that is not a documentation example or a masked key."""
    return not _PLACEHOLDER_INSIDE.search(value) and len(set(value)) >= 8


def _plausible_free_form_key(value: str) -> bool:
    """`sk-` bodies allow dashes, so prose like "sk-this-is-not-a-key" fits; a real key also has digits."""
    return _plausible_key(value) and any(c.isdigit() for c in value)


def _random_token(value: str, min_length: int) -> bool:
    """Random-looking: long enough, letters and digits interleaved, and high entropy for its length.

    Entropy alone passes camelCase identifiers and words-and-numbers names; requiring several letter/digit
    changes inside one chunk rejects them while keeping hex, base62 and base64 secrets.
    """
    if len(value) < min_length or _PLACEHOLDER_INSIDE.search(value):
        return False
    if not any(c.isdigit() for c in value) or not any(c.isalpha() for c in value):
        return False
    # A string of n distinct symbols cannot beat log2(n) bits, so short tokens get a lower bar.
    threshold = min(3.5, 0.75 * math.log2(len(value)))
    changes = _letter_digit_changes(value)
    return changes >= 2 and _has_mixed_chunk(value) and shannon_entropy(value) >= threshold


_pattern = SpanPattern.of


def _value_check(predicate: Callable[[str], bool]) -> Check:
    def check(match: re.Match[str], start: int, end: int) -> bool:
        return predicate(match.string[start:end])

    return check


# --- provider keys -------------------------------------------------------------------------------------------

# Each entry: (name, regex). Formats are the providers' published token prefixes and lengths; boundaries keep a
# key from matching inside a longer token.
_T = r"(?<![A-Za-z0-9_-])"  # a token starts here
_E = r"(?![A-Za-z0-9_-])"  # a token ends here
PROVIDER_FORMATS: tuple[tuple[str, str], ...] = (
    ("aws_access_key_id", r"(?<![A-Z0-9])(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}(?![A-Z0-9])"),
    ("gcp_api_key", _T + r"AIza[0-9A-Za-z_-]{35}" + _E),
    ("google_oauth_client_secret", _T + r"GOCSPX-[0-9A-Za-z_-]{28}" + _E),
    ("google_oauth_access_token", _T + r"ya29\.[0-9A-Za-z_-]{30,}" + _E),
    ("github_token", _T + r"gh[pousr]_[A-Za-z0-9]{36,251}" + _E),
    ("github_fine_grained_pat", _T + r"github_pat_[A-Za-z0-9_]{50,250}" + _E),
    ("gitlab_token", _T + r"gl(?:pat|dt|rt|ptt|ft|soat|cbt|imt|agent|oas|wt)-[A-Za-z0-9_-]{20,}(?:\.[A-Za-z0-9_-]+)*"),
    ("gitlab_runner_registration", _T + r"GR1348941[A-Za-z0-9_-]{20,}" + _E),
    ("slack_token", _T + r"xox[abposre](?:\.xox[abposr])?-[0-9A-Za-z]+(?:-[0-9A-Za-z]+)+" + _E),
    ("slack_app_token", _T + r"xapp-\d-[A-Z0-9]+-\d+-[a-f0-9]+" + _E),
    ("slack_webhook", r"https://hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9_/-]{20,}"),
    ("discord_webhook", r"https://(?:ptb\.|canary\.)?discord(?:app)?\.com/api/webhooks/\d+/[A-Za-z0-9_-]{20,}"),
    ("teams_webhook", r"https://[\w-]+\.webhook\.office\.com/webhookb2/[^\s\"'<>]{20,}"),
    ("stripe_secret_key", _T + r"(?:sk|rk)_(?:live|test)_[0-9A-Za-z]{10,247}" + _E),
    ("stripe_webhook_secret", _T + r"whsec_[0-9A-Za-z]{24,}" + _E),
    ("openai_style_key", _T + r"sk-(?:proj-|svcacct-|admin-|ant-(?:api|admin|sid)\d\d-)?[A-Za-z0-9_-]{20,}" + _E),
    ("twilio_api_key", r"(?<![A-Za-z0-9])SK[0-9a-f]{32}(?![A-Za-z0-9])"),
    ("sendgrid_api_key", _T + r"SG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}" + _E),
    ("npm_token", _T + r"npm_[A-Za-z0-9]{36}" + _E),
    ("pypi_token", _T + r"pypi-AgEIcHlwaS5vcmc[A-Za-z0-9_-]{50,}" + _E),
    ("huggingface_token", _T + r"hf_[A-Za-z0-9]{34,}" + _E),
    ("digitalocean_token", _T + r"do[por]_v1_[a-f0-9]{64}" + _E),
    ("databricks_token", _T + r"dapi[a-f0-9]{32}(?:-\d)?" + _E),
    ("shopify_token", _T + r"shp(?:at|ca|pa|ss)_[a-fA-F0-9]{32}" + _E),
    ("atlassian_api_token", _T + r"ATATT3[A-Za-z0-9_=-]{50,}" + _E),
    ("mailgun_api_key", _T + r"key-[0-9a-f]{32}" + _E),
    ("age_secret_key", r"AGE-SECRET-KEY-1[0-9A-Z]{58}"),
    ("jwt", _T + r"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*" + _E),
)

_FORMAT_CHECKS = {"openai_style_key": _plausible_free_form_key}
_AWS_SECRET = r"(?<![A-Za-z0-9/+])(?P<value>[A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])"
_AZURE_SAS_PARAMS = re.compile(r"[?&;]s[vpe]=")


def _aws_secret(value: str) -> bool:
    return (
        any(c.islower() for c in value)
        and any(c.isupper() for c in value)
        and any(c.isdigit() for c in value)
        and shannon_entropy(value) >= 4.0
        and _plausible_key(value)
    )


def _azure_sas(match: re.Match[str], start: int, end: int) -> bool:
    """A `sig=` parameter only counts inside a URL that also carries SAS version/permission/expiry params."""
    text = match.string
    left = max(text.rfind(" ", 0, start), text.rfind("\n", 0, start)) + 1
    right = len(text) if (space := re.search(r"\s", text[end:])) is None else end + space.start()
    return bool(_AZURE_SAS_PARAMS.search(text[left:right]))


def provider_key_recognizer(language: str = "en") -> SpanRecognizer:
    """Keys whose format alone proves them: provider prefixes, JWTs, webhook URLs, cloud keys with their cue."""
    patterns = [
        _pattern(name, regex, 0.95, _value_check(_FORMAT_CHECKS.get(name, _plausible_key)))
        for name, regex in PROVIDER_FORMATS
    ]
    patterns += [
        _pattern(
            "aws_secret_access_key",
            r"(?i:aws.{0,25}?secret|secret.?access.?key).{0,30}?" + _AWS_SECRET,
            0.9,
            _value_check(_aws_secret),
        ),
        # The credentials CSV and many pastes put the secret right after its access key id.
        _pattern(
            "aws_secret_after_key_id",
            r"(?<![A-Z0-9])(?:AKIA|ASIA)[A-Z0-9]{16}[\s,;:|\"']{1,5}" + _AWS_SECRET,
            0.9,
            _value_check(_aws_secret),
        ),
        _pattern(
            "azure_account_key",
            r"(?i:AccountKey|SharedAccessKey)\s*=\s*(?P<value>[A-Za-z0-9+/]{20,}={0,2})",
            0.95,
            _value_check(_plausible_key),
        ),
        _pattern("azure_sas_signature", r"[?&;]sig=(?P<value>[A-Za-z0-9%+/]{20,}(?:=|%3[Dd]){0,2})", 0.9, _azure_sas),
    ]
    return SpanRecognizer(ENTITY, patterns, name="ProviderKeyRecognizer", supported_language=language)


# --- private keys ----------------------------------------------------------------------------------------------

# A pasted key is often cut short or JSON-escaped ("\n"), so a BEGIN line without its END still takes the body.
_PEM = (
    r"-----BEGIN[ A-Z0-9]*PRIVATE KEY(?: BLOCK)?-----"
    r"(?:[\s\S]{0,20000}?-----END[ A-Z0-9]*PRIVATE KEY(?: BLOCK)?-----"
    r"|(?:(?:\\[nr]|\s)+(?:[A-Za-z0-9+/=]{16,}|(?:Proc-Type|DEK-Info|Comment|Version):[^\n\\]*))*)"
)


def private_key_recognizer(language: str = "en") -> SpanRecognizer:
    """PEM, OpenSSH and PGP private key blocks, whole."""
    return SpanRecognizer(
        ENTITY, [_pattern("pem_private_key", _PEM, 1.0)], name="PrivateKeyRecognizer", supported_language=language
    )


# --- URLs, connection strings and HTTP auth ----------------------------------------------------------------------

def _embedded_password(value: str) -> bool:
    return not is_placeholder(value) and "{" not in value


def _basic_credentials(value: str) -> bool:
    """Basic auth is base64("user:password"); anything else after the word "Basic" is prose."""
    try:
        decoded = base64.b64decode(value + "=" * (-len(value) % 4), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return False
    return ":" in decoded and decoded.isprintable()


def _bearer_token(value: str) -> bool:
    return not is_placeholder(value) and not _PLACEHOLDER_INSIDE.search(value) and len(set(value)) >= 6


def _bare_bearer(value: str) -> bool:
    return _bearer_token(value) and _random_token(value, 16)


def url_credential_recognizer(language: str = "en") -> SpanRecognizer:
    """The password in scheme://user:password@host and in `curl -u user:password`."""
    patterns = [
        _pattern(
            "url_userinfo_password",
            r"\b[A-Za-z][A-Za-z0-9+.-]{1,20}://[^\s:@/?#]{0,64}:(?P<value>[^\s@/?#]{1,128})@(?=[A-Za-z0-9\[])",
            0.9,
            _value_check(_embedded_password),
        ),
        _pattern(
            "cli_user_password",
            r"(?:^|\s)(?:-u|--user)\s+[\"']?[^\s:\"']{1,64}:(?P<value>[^\s\"']{1,128})",
            0.9,
            _value_check(_embedded_password),
        ),
    ]
    return SpanRecognizer(ENTITY, patterns, name="UrlCredentialRecognizer", supported_language=language)


def auth_header_recognizer(language: str = "en") -> SpanRecognizer:
    """Authorization header values (Bearer, Basic, Token) and bare `Bearer <token>` strings."""
    header = r"(?i:\b(?:proxy-)?authorization)[\"']?\s*[:=]\s*[\"']?"
    patterns = [
        _pattern(
            "authorization_bearer",
            header + r"(?i:bearer|token|apikey|sso-key|negotiate)\s+(?P<value>[A-Za-z0-9._~+/:=-]{8,})",
            0.9,
            _value_check(_bearer_token),
        ),
        _pattern(
            "authorization_basic",
            header + r"(?i:basic)\s+(?P<value>[A-Za-z0-9+/]{6,}={0,2})",
            0.9,
            _value_check(_basic_credentials),
        ),
        _pattern(
            "bare_bearer",
            r"(?i:\bbearer)\s+(?P<value>[A-Za-z0-9._~+/-]{16,}=*)",
            0.8,
            _value_check(_bare_bearer),
        ),
    ]
    return SpanRecognizer(ENTITY, patterns, name="AuthHeaderRecognizer", supported_language=language)


# --- passwords, login pairs and PINs -----------------------------------------------------------------------------

# Words that follow "password is" when the sentence is about the password rather than quoting it, and the
# Python keywords that follow "if not password:".
_NOT_A_PASSWORD = frozenset(
    """a an the my your his her their our its it this that these those in on at to for of with from by as not no
    wrong incorrect invalid expired expiring required correct right same different too very so also still now
    being been set reset changed updated missing empty blank weak strong fine ok okay good bad working broken
    locked stored saved here there below above attached sensitive case-sensitive protected encrypted hashed hidden
    redacted and or but if when what which where how why who whatever something anything nothing please thanks
    thx lol long short complex simple easy hard known unknown shared personal temporary temp default mandatory
    optional enabled disabled needed necessary ready done valid secure insecure safe unsafe sent coming pending
    generated random forgotten lost compromised leaked rotated manager policy field prompt box change update
    rotation requirements requirement length is was will should must can could would might did does do just only
    really actually literally continue proceed login log access unlock see check ask use via dm pm ping sending
    vault 1password lastpass bitwarden keepass keeper pinned""".split()
) | frozenset("raise return pass break print yield await lambda def class elif else assert del self".split())
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_NAMED_SECRET = re.compile(r"(?i)pass|pwd|secret|token|cred")


def _password_value(value: str, prose: bool) -> bool:
    """Whether a value after a password cue is a password, not a state ("expired") or code naming one.

    `prose` values (after "is"/"was") are also refused when they read like English: -ed/-ing/-ly words.
    """
    lowered = value.lower().rstrip(TRAILING)
    if len(value) < 3 or not any(c.isalnum() for c in value) or lowered in _NOT_A_PASSWORD:
        return False
    if is_placeholder(value) or _CODE_VALUE.search(value):
        return False
    if value.startswith(("/", "~", "-")):
        return False  # a path or a command-line flag
    if _IDENTIFIER.match(value) and _NAMED_SECRET.search(value) and ("_" in value or re.search("[a-z][A-Z]", value)):
        return False  # a variable holding the password: user_password, dbPass
    if prose and value.isalpha() and value.islower() and lowered.endswith(("ed", "ing", "ly")):
        return False
    return True


def _typed(value: str) -> bool:
    """Looks like something typed as a password rather than a word: it has a digit and some length."""
    return len(value) >= 6 and any(c.isdigit() for c in value)


def _password_check(prose: bool, typed: bool = False) -> Check:
    """A check for one password pattern; `typed` demands a digit from bare (unquoted) values."""

    def check(match: re.Match[str], start: int, end: int) -> bool:
        value = match.string[start:end]
        if typed and match.lastgroup == "value" and not _typed(value):
            return False
        return _password_value(value, prose)

    return check


_PW_CUE = r"(?:password|passwd|passwrd|passphrase|passcode|pword|pwd|pw|pass)"
_QUALIFIER = (
    r"(?:wi-?fi|wireless|network|router|guest|admin|root|vpn|email|e-mail|login|account|door|laptop|computer"
    r"|db|database|server|ssh|sudo|master|new|old|temp|temporary|default)"
)
_QUOTED = r"(?:\"(?P<value_dq>[^\"\n]{1,128})\"|'(?P<value_sq>[^'\n]{1,128})'|`(?P<value_bq>[^`\n]{1,128})`)"
# Bare values stop at whitespace and at ; or & that start the next key=value of a connection string or query.
_BARE = r"(?P<value>(?:[^\s\"'`;&<]|[;&](?![\w.-]+=)){1,128})"
_VALUE = r"(?:" + _QUOTED + "|" + _BARE + ")"

_KV_PASSWORD = (
    r"(?<![\w.-])(?P<key>[A-Za-z][\w.-]*?)?(?P<cue>" + _PW_CUE + r")[\"']?\s*(?::=|=>|=(?!=)|:)[ \t]*" + _VALUE
)
_PROSE_PASSWORD = (
    r"\b(?:(?P<qual>" + _QUALIFIER + r")\s+)?(?P<cue>" + _PW_CUE + r")\b"
    r"(?:\s+(?:for|to|on|of|at|into|in|from|with)\s+(?:(?:the|my|our|your|his|her|their|this|that)\s+)?[\w@.-]+"
    r"(?:\s+[\w@.-]+){0,2}?)?(?P<sep>\s+(?:(?:has\s+been|was|got|is)\s+)?(?:changed|reset|set|updated)\s+to|'s|\s+(?:is|was|are)\b:?"
    r"|\s*(?:=(?!=)|:|->)|\s+[-–—]\s)"
    r"(?:\s+(?:now|still|just|literally|actually|currently|simply|temporarily))?\s*" + _VALUE
)
_CHANGED_TO = (
    r"\b(?:changed|reset|set|updated|changing|setting)\s+(?:the|my|your|his|her|their|our)\s+(?:[\w-]+\s+){0,2}"
    r"(?:" + _PW_CUE + r"|account|login|creds)\s+to\s+" + _VALUE
)
# "the wifi here is X": the network's name stands for its password, but only a typed-looking value counts.
_WIFI = r"\bwi-?fi\b(?:\s+(?:here|code|key|network))?\s*(?:\s(?:is|was)\b|:|=)\s*" + _VALUE
# "passwd hunter2": with no separator at all, only a value that looks typed ("password reset" is not one).
_SPACED_PASSWORD = r"\b(?:password|passwd|pwd|pw)[ \t]+(?P<value>[^\s\"'`]{6,128})"
_LOGIN_PAIR = (
    r"\b(?:login|log-in|creds|credentials|user(?:name)?\s*(?:/|and|&)\s*pass(?:word)?|u/p)\b"
    r"(?:\s+(?:for|to|on)\s+(?:the\s+)?[\w.-]+)?\s*(?:is|are|was|were|:|=)?\s*"
    r"(?P<user>[^\s/:|]{1,64})\s*[/:|]\s*(?P<value>\S{1,128})"
)
_LONG_CUES = ("password", "passwd", "passwrd", "passphrase", "passcode")
# <password>hunter2</password>, <add key="DbPassword" value="..."/> style config.
_XML_PASSWORD = (
    r"<(?:[\w.:-]*?)" + _PW_CUE + r">(?P<value_xml>[^<\s]{1,128})</"
    r"|\bkey=\"[\w.:-]*?" + _PW_CUE + r"\"\s+value=\"(?P<value_attr>[^\"\s]{1,128})\""
)
# CLIs whose -p/-a flag is the password (for psql -p is the port): mysql -pX, redis-cli -a X, docker login -p X.
_CLI_PASSWORD = (
    r"\b(?:mysql|mysqldump|mysqladmin|mariadb|sshpass|docker\s+login|podman\s+login|redis-cli|mongo|mongosh)\b"
    r"[^\n]*?\s(?:-p|-a|--password[= ]|--pass[= ])[ \t]*['\"]?(?P<value>[^\s'\"]{3,128})"
)


def _kv_password(match: re.Match[str], start: int, end: int) -> bool:
    key, cue = match.group("key") or "", match.group("cue")
    joined = key.endswith(("_", ".", "-")) or (key[-1:].islower() and cue[0].isupper())
    if key and not joined and cue.lower() not in _LONG_CUES:
        return False  # "compass: north", "bypass: true": the cue is the tail of another word
    return _password_value(match.string[start:end], prose=False)


def _kv_value(match: re.Match[str], start: int, end: int) -> bool:
    return _password_value(match.string[start:end], prose=False)


_LENGTH_WORDS = re.compile(r"\s*(?:characters|chars|digits|letters|symbols|long)\b", re.IGNORECASE)


def _prose_password(match: re.Match[str], start: int, end: int) -> bool:
    weak = match.group("sep").strip() in {"is", "was", "are", "'s"}
    if match.group("cue").lower() == "pass" and not match.group("qual") and weak:
        return False  # "my pass is expiring": a bare "pass" is a badge or a ticket unless qualified
    if _LENGTH_WORDS.match(match.string, end):
        return False  # "password is 12345 characters"
    return _password_value(match.string[start:end], prose=weak)


def _login_pair(match: re.Match[str], start: int, end: int) -> bool:
    user, value = match.group("user"), match.string[start:end]
    if user.isdigit() or re.fullmatch(r"[a-z]+(?:/[a-z]+)+", value):
        return False  # "login: 9:30", "creds: vault/prod/db"
    return _password_value(value, prose=False)


def password_recognizer(language: str = "en") -> SpanRecognizer:
    """Passwords given in key/value form, in prose after a cue, or as a login pair."""
    flags = re.IGNORECASE
    patterns = [
        _pattern("password_key_value", _KV_PASSWORD, 0.9, _kv_password, flags, strip=SENTENCE_END),
        _pattern("password_prose", _PROSE_PASSWORD, 0.85, _prose_password, flags),
        # "reset your password to continue": after "to", a bare word is the purpose, not the password.
        _pattern("password_changed_to", _CHANGED_TO, 0.85, _password_check(prose=True, typed=True), flags),
        _pattern("password_spaced", _SPACED_PASSWORD, 0.7, _password_check(prose=True, typed=True), flags),
        _pattern("wifi", _WIFI, 0.8, _password_check(prose=True, typed=True), flags),
        _pattern("login_pair", _LOGIN_PAIR, 0.85, _login_pair, flags),
        _pattern("password_xml", _XML_PASSWORD, 0.9, _kv_value, flags),
        _pattern("password_cli_flag", _CLI_PASSWORD, 0.85, _kv_value, strip=SENTENCE_END),
    ]
    return SpanRecognizer(ENTITY, patterns, name="PasswordRecognizer", supported_language=language)


_PIN_CUE = (
    r"(?:pin|passcode|pass\s?code|(?:door|gate|alarm|lock|keypad|garage|safe|access|entry|building)\s+code"
    r"|otp|one[-\s]time\s+(?:code|password|passcode)|(?:verification|2fa|mfa|auth(?:entication)?)\s+code)"
)
_PIN = (
    r"\b" + _PIN_CUE + r"\b(?:\s*(?:code|number|#|no\.?))?(?:\s+(?:for|to|on|of)\s+(?:(?:the|my|our)\s+)?[\w.-]+)?"
    r"\s*(?:is|was|:|=|-)?\s*(?:now\s+|still\s+)?(?P<value>\d{4,8})(?!\w)"
)
_CARD_CODE = r"\b(?:cvv2?|cvc2?|csc|security\s+code)\b\s*(?:is|was|:|=)?\s*(?P<value>\d{3,4})(?!\w)"


def pin_recognizer(language: str = "en") -> SpanRecognizer:
    """Numeric PINs, door and one-time codes, and card security codes after their cue."""
    patterns = [
        _pattern("pin", _PIN, 0.85, flags=re.IGNORECASE),
        _pattern("card_security_code", _CARD_CODE, 0.85, flags=re.IGNORECASE),
    ]
    return SpanRecognizer(ENTITY, patterns, name="PinRecognizer", supported_language=language)


# --- secrets named by context --------------------------------------------------------------------------------------

_SECRET_KEY_NAME = (
    r"(?:api[_-]?key|apikey|api[_-]?token|secret(?:[_-]?key)?|client[_-]?secret|access[_-]?token"
    r"|auth[_-]?token|refresh[_-]?token|bearer[_-]?token|private[_-]?token|session[_-]?(?:token|key|secret)"
    r"|signing[_-]?key|encryption[_-]?key|master[_-]?key|access[_-]?key(?:[_-]?id)?"
    r"|webhook[_-]?secret|app[_-]?secret|consumer[_-]?secret|license[_-]?key|token)"
)
_SECRET_ASSIGNMENT = (
    r"(?<![\w.-])(?:[A-Za-z][\w.-]*?)?" + _SECRET_KEY_NAME + r"[\"']?\s*(?::=|=>|=(?!=)|:)[ \t]*"
    r"(?:" + _QUOTED + r"|(?P<value>[^\s\"'`,;&<]{8,256}))"
)


def _assigned_secret(value: str) -> bool:
    """A value assigned to a secret-named key: not code or a placeholder, and not a plain word or number."""
    if len(value) < 8 or " " in value or is_placeholder(value) or _CODE_VALUE.search(value):
        return False
    if _PLACEHOLDER_INSIDE.search(value) or value.isdigit() or value.isalpha():
        return False
    return shannon_entropy(value) >= 2.5


def secret_assignment_recognizer(language: str = "en") -> SpanRecognizer:
    """Values assigned to secret-named keys in config, env files, JSON and headers (API_KEY=..., "secret": "...")."""
    pattern = _pattern(
        "secret_assignment", _SECRET_ASSIGNMENT, 0.85, _value_check(_assigned_secret), re.IGNORECASE
    )
    return SpanRecognizer(ENTITY, [pattern], name="SecretAssignmentRecognizer", supported_language=language)


# Context words that make a nearby random token a secret; short ones need word boundaries.
_CONTEXT_CUE = re.compile(
    r"(?i)api[\s_-]?key|apikey|access[\s_-]?key|secret|token|passw|passphrase|\bpwd\b|credential|\bcreds?\b"
    r"|\bauth\b|authoriz|\bbearer\b|private[\s_-]?key|signing[\s_-]?key|session[\s_-]?(?:id|key)|\bkey\s*(?:[:=]|is\b)"
)
_CANDIDATE = r"(?<![\w+/.-])[A-Za-z0-9_+/-]{16,256}={0,2}(?![\w+/=-]|\.\w)"
_CUE_BEFORE = 48
_CUE_AFTER = 24


def _token_near_cue(match: re.Match[str], start: int, end: int) -> bool:
    text = match.string
    if not _random_token(text[start:end].rstrip("="), 16):
        return False
    before = text[max(0, start - _CUE_BEFORE) : start].rsplit("\n", 1)[-1]
    after = text[end : end + _CUE_AFTER].split("\n", 1)[0]
    return bool(_CONTEXT_CUE.search(before) or _CONTEXT_CUE.search(after))


def _unmistakable_token(match: re.Match[str], start: int, end: int) -> bool:
    """Long enough and random enough to be a secret with no word around it (an AWS secret key pasted alone).

    Commit hashes, UUIDs and request ids are hex or lower case, so requiring both cases and digits leaves them
    to the cue-bound pattern.
    """
    token = match.string[start:end].rstrip("=")
    return (
        len(token) >= _UNMISTAKABLE_LENGTH
        and any(c.isupper() for c in token)
        and any(c.islower() for c in token)
        and _random_token(token, _UNMISTAKABLE_LENGTH)
        and shannon_entropy(token) >= _UNMISTAKABLE_ENTROPY
    )


_UNMISTAKABLE_LENGTH = 32
_UNMISTAKABLE_ENTROPY = 4.5  # bits per character; random base62 of this length averages about 4.8


def high_entropy_token_recognizer(language: str = "en") -> SpanRecognizer:
    """Random-looking tokens (entropy, length, interleaved letters and digits) on the same line as a credential word,
    and, with no word needed, long mixed-case random tokens.

    A cue is needed for the rest: commit hashes, request ids and UUIDs are random too, and not secrets on their own.
    """
    patterns = [
        _pattern("high_entropy_near_cue", _CANDIDATE, 0.75, _token_near_cue),
        _pattern("high_entropy_long", _CANDIDATE, 0.6, _unmistakable_token),
    ]
    return SpanRecognizer(ENTITY, patterns, name="HighEntropyTokenRecognizer", supported_language=language)


@register("credentials")
def credential_recognizers(context: DetectContext) -> list[EntityRecognizer]:
    language = context.policy.language
    return [
        provider_key_recognizer(language),
        private_key_recognizer(language),
        url_credential_recognizer(language),
        auth_header_recognizer(language),
        password_recognizer(language),
        spoken_forms(pin_recognizer(language)),
        secret_assignment_recognizer(language),
        high_entropy_token_recognizer(language),
    ]
