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
    # Any other incoming-webhook URL: whoever holds it can post, so the whole URL is the secret.
    ("webhook_url", r"https?://[^\s\"'<>/]+/(?:[^\s\"'<>]*/)?[\w-]*hooks?\b[^\s\"'<>]*/[A-Za-z0-9_-]{8,}[^\s\"'<>]*"),
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
    # Further vendors, each from its own documentation of the token's prefix and alphabet.
    ("adobe_client_secret", _T + r"p8e-[A-Za-z0-9]{32}" + _E),
    ("airtable_pat", _T + r"pat[A-Za-z0-9]{14}\.[a-f0-9]{64}" + _E),
    ("alibaba_access_key_id", _T + r"LTAI[A-Za-z0-9]{20}" + _E),
    ("asana_pat", r"(?<![\w/])\d/\d{16}(?:/\d{16})?:[A-Za-z0-9]{32}" + _E),
    ("azure_ad_client_secret", r"(?<![\w~.-])[A-Za-z0-9_~.]{3}\dQ~[A-Za-z0-9_~.-]{31,34}(?![\w~.-])"),
    ("clojars_token", _T + r"CLOJARS_[a-z0-9]{60}" + _E),
    ("cloudflare_origin_ca_key", _T + r"v1\.0-[a-f0-9]{24}-[a-f0-9]{146}" + _E),
    ("defined_networking_key", _T + r"dnkey-[a-z0-9=_-]{26}-[a-z0-9=_-]{52}" + _E),
    ("doppler_token", _T + r"dp\.(?:pt|st|ct|sa|scim|audit)\.[A-Za-z0-9]{40,44}" + _E),
    ("dropbox_short_lived", _T + r"sl\.[A-Za-z0-9_-]{130,160}" + _E),
    ("duffel_token", _T + r"duffel_(?:test|live)_[A-Za-z0-9_=-]{43}" + _E),
    ("dynatrace_token", _T + r"dt0c01\.[A-Za-z0-9]{24}\.[A-Za-z0-9]{64}" + _E),
    ("easypost_key", _T + r"EZ[AT]K[A-Za-z0-9]{54}" + _E),
    ("facebook_access_token", _T + r"EAA[MC][A-Za-z0-9]{100,}" + _E),
    ("flutterwave_key", _T + r"FLW(?:SECK|PUBK)_TEST-[a-h0-9]{12,32}(?:-X)?" + _E),
    ("frameio_token", _T + r"fio-u-[A-Za-z0-9_=-]{64}" + _E),
    ("flyio_token", _T + r"(?:fo1_[\w-]{43}|fm[12][ar]?_[A-Za-z0-9+/]{100,}={0,3})" + _E),
    ("grafana_token", _T + r"(?:glc_[A-Za-z0-9+/]{32,400}={0,2}|glsa_[A-Za-z0-9]{32}_[A-Fa-f0-9]{8}|eyJrIjoi[A-Za-z0-9]{70,400}={0,2})" + _E),
    ("harness_token", _T + r"(?:pat|sat)\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9]{24}\.[A-Za-z0-9]{20}" + _E),
    ("terraform_cloud_token", _T + r"[a-z0-9]{14}\.atlasv1\.[a-z0-9=_-]{60,70}" + _E),
    ("vault_token", _T + r"hv[sb]\.[\w-]{90,300}" + _E),
    ("heroku_key", _T + r"HRKU-AA[0-9A-Za-z_-]{58}" + _E),
    ("hubspot_private_app", _T + r"pat-(?:na|eu)\d-[a-f0-9]{8}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{12}" + _E),
    ("huggingface_org_token", _T + r"api_org_[A-Za-z0-9]{34}" + _E),
    ("infracost_key", _T + r"ico-[A-Za-z0-9]{32}" + _E),
    ("intra42_secret", _T + r"s-s4t2(?:ud|af)-[a-f0-9]{64}" + _E),
    ("linear_api_key", _T + r"lin_(?:api|oauth)_[A-Za-z0-9]{40}" + _E),
    ("mailgun_public_key", _T + r"pubkey-[a-f0-9]{32}" + _E),
    ("mapbox_token", _T + r"(?:sk|tk)\.eyJ[A-Za-z0-9_-]{20,}\.[A-Za-z0-9_-]{20,}" + _E),
    ("newrelic_key", _T + r"(?:NRAK-[A-Z0-9]{27}|NRJS-[a-f0-9]{19}|NRII-[A-Za-z0-9-]{32}|NRAA-[a-f0-9]{27})" + _E),
    ("notion_token", _T + r"(?:ntn_\d{11}[A-Za-z0-9]{35}|secret_[A-Za-z0-9]{43})" + _E),
    ("nuget_key", _T + r"oy2[a-z0-9]{43}" + _E),
    ("octopus_deploy_key", _T + r"API-[A-Z0-9]{26}" + _E),
    ("onepassword_token", _T + r"(?:ops_eyJ[A-Za-z0-9+/]{250,}={0,3}|A3-[A-Z0-9]{6}-(?:[A-Z0-9]{11}|[A-Z0-9]{6}-[A-Z0-9]{5})-[A-Z0-9]{5}-[A-Z0-9]{5}-[A-Z0-9]{5})" + _E),
    ("openshift_token", _T + r"sha256~[\w-]{43}" + _E),
    ("perplexity_key", _T + r"pplx-[A-Za-z0-9]{48}" + _E),
    ("planetscale_token", _T + r"pscale_(?:tkn|pw|oauth)_[\w=.-]{32,64}" + _E),
    ("postman_key", _T + r"PMAK-[a-f0-9]{24}-[a-f0-9]{34}" + _E),
    ("prefect_key", _T + r"pnu_[A-Za-z0-9]{36}" + _E),
    ("pulumi_token", _T + r"pul-[a-f0-9]{40}" + _E),
    ("readme_key", _T + r"rdme_[a-z0-9]{70}" + _E),
    ("rubygems_key", _T + r"rubygems_[a-f0-9]{48}" + _E),
    ("scalingo_token", _T + r"tk-us-[\w-]{48}" + _E),
    ("sendinblue_key", _T + r"xkeysib-[a-f0-9]{64}-[A-Za-z0-9]{16}" + _E),
    ("sentry_token", _T + r"(?:sntrys_eyJ[A-Za-z0-9+/=_-]{60,}|sntryu_[a-f0-9]{64})" + _E),
    ("settlemint_token", _T + r"sm_(?:pat|aat|sat)_[A-Za-z0-9]{16}" + _E),
    ("shippo_token", _T + r"shippo_(?:live|test)_[a-fA-F0-9]{40}" + _E),
    ("sourcegraph_token", _T + r"sgp_(?:(?:[a-fA-F0-9]{16}|local)_)?[a-fA-F0-9]{40}" + _E),
    ("square_token", _T + r"(?:sq0atp-[0-9A-Za-z_-]{22}|sq0csp-[0-9A-Za-z_-]{43}|EAAA[\w-]{60})" + _E),
    ("supabase_key", _T + r"(?:sbp_[a-f0-9]{40}|sb_secret_[A-Za-z0-9_-]{20,})" + _E),
    ("twitter_bearer", _T + r"A{22}[A-Za-z0-9%]{80,110}" + _E),
    ("typeform_token", _T + r"tfp_[a-z0-9._=-]{59}" + _E),
    ("xai_key", _T + r"xai-[A-Za-z0-9]{80}" + _E),
    ("groq_key", _T + r"gsk_[A-Za-z0-9]{52}" + _E),
    ("replicate_token", _T + r"r8_[A-Za-z0-9]{37}" + _E),
    ("maxmind_key", _T + r"[A-Za-z0-9]{6}_[A-Za-z0-9]{29}_mmk" + _E),
    ("artifactory_reference_token", _T + r"cmVmdGtu[A-Za-z0-9]{56}" + _E),
    ("lob_key", _T + r"(?:live|test)_(?:pub_)?[a-f0-9]{31,35}" + _E),
    ("telegram_bot_token", r"(?<![\w:])\d{8,10}:AA[0-9A-Za-z_-]{33}" + _E),
)

_FORMAT_CHECKS = {"openai_style_key": _plausible_free_form_key, "webhook_url": lambda url: _PLACEHOLDER_INSIDE.search(url) is None and any(c.isdigit() for c in url.rstrip("/").rsplit("/", 1)[-1])}
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


# --- detect-secrets' vendor plugins ---------------------------------------------------------------------------

# Its plugins that find what this module does not already find better: IPs are no secret, and private keys are
# taken whole above (the plugin matches only the BEGIN line).
_DETECT_SECRETS_SKIPPED = frozenset({"IPPublicDetector", "PrivateKeyDetector"})
_DELIMITERS = " \t\r\n=:\"'`"


def _detect_secrets_patterns() -> list[tuple[str, re.Pattern[str]]]:
    """The compiled regexes of detect-secrets' regex-based plugins, named by plugin."""
    from detect_secrets.core.plugins.util import get_mapping_from_secret_type_to_class
    from detect_secrets.plugins.base import RegexBasedDetector

    patterns = []
    for plugin in get_mapping_from_secret_type_to_class().values():
        if issubclass(plugin, RegexBasedDetector) and plugin.__name__ not in _DETECT_SECRETS_SKIPPED:
            patterns.extend((plugin.__name__, regex) for regex in plugin.denylist)
    return patterns


class DetectSecretsRecognizer(SpanRecognizer):
    """detect-secrets' vendor plugins (Artifactory, IBM, Cloudant, Softlayer, Discord, Mailchimp, Telegram, ...),
    run through their own regexes; the span is the plugin's secret group, or its whole match less delimiters."""

    def __init__(self, supported_language: str = "en") -> None:
        patterns = [SpanPattern(name, regex, 0.9) for name, regex in _detect_secrets_patterns()]
        super().__init__(ENTITY, patterns, name="DetectSecretsRecognizer", supported_language=supported_language)

    def span(self, match: re.Match[str], pattern: SpanPattern) -> tuple[int, int] | None:
        """The plugin's first non-empty group, or its whole match, less delimiters; kept when key-like."""
        text = match.string
        groups = [i for i in range(1, (match.re.groups or 0) + 1) if match.start(i) < match.end(i)]
        start, end = match.span(groups[0]) if groups else match.span()
        while start < end and text[start] in _DELIMITERS:
            start += 1
        while end > start and text[end - 1] in _DELIMITERS:
            end -= 1
        return (start, end) if end - start >= 8 and _plausible_key(text[start:end]) else None


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
    r"|\s*(?:=(?!=)|:|->)|\s+[-–—]\s|\s*\?\s*(?:it'?s|it\s+is)\b)"
    r"(?:\s+(?:now|still|just|literally|actually|currently|simply|temporarily))?\s*" + _VALUE
)
# "I reset it to Maple!Tree42 for now": no cue but the pronoun, so only a value shaped like a password counts.
_IT_TO = r"\b(?:reset|set|changed|change|updated|update|switched|switch)\s+it\s+(?:back\s+)?to\s+(?P<value>[^\s\"'`]{8,64})"
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


_NOT_A_PASSWORD_SHAPE = re.compile(
    r"v?\d+(?:[._-]\d+)+(?:[-+][\w.]+)?"  # a version
    r"|[A-Z][A-Z0-9]+-\d+"  # a ticket key
    r"|[a-z]{2}[_-][A-Z]{2}(?:\.[\w-]+)?"  # a locale ("en_US.UTF-8")
    r"|\d{4}-\d{2}-\d{2}(?:[T ][\d:.]+)?Z?"  # a date or timestamp
    r"|[\w.+-]+@[\w.-]+|\w+://\S+|[~/.]\S*|-\S*|\$\S*"  # an e-mail address, a URL, a path, a flag, a variable
)


def _password_shaped(value: str) -> bool:
    """Typed like a password: eight characters or more of at least three kinds (lower, upper, digit, symbol), and
    no version, ticket key, locale, date, address, path or code."""
    value = value.rstrip(TRAILING)
    kinds = sum((any(c.islower() for c in value), any(c.isupper() for c in value), any(c.isdigit() for c in value),
                 any(not c.isalnum() for c in value)))
    if len(value) < 8 or kinds < 3 or _NOT_A_PASSWORD_SHAPE.fullmatch(value):
        return False
    return not (is_placeholder(value) or _PLACEHOLDER_INSIDE.search(value) or _CODE_VALUE.search(value))


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
        _pattern("password_it_to", _IT_TO, 0.8, _value_check(_password_shaped), flags),
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
_PIN_SET_TO = (
    r"\b(?:set|changed?|reset|updated?|switched?)\s+(?:the|my|our|your|his|her|their)\s+(?:[\w-]+\s+)?" + _PIN_CUE
    + r"\s+to\s+(?P<value>\d{4,8})(?!\w)"
)
_CARD_CODE = r"\b(?:cvv2?|cvc2?|csc|security\s+code)\b\s*(?:is|was|:|=)?\s*(?P<value>\d{3,4})(?!\w)"


def pin_recognizer(language: str = "en") -> SpanRecognizer:
    """Numeric PINs, door and one-time codes, and card security codes after their cue."""
    patterns = [
        _pattern("pin", _PIN, 0.85, flags=re.IGNORECASE),
        _pattern("pin_set_to", _PIN_SET_TO, 0.85, flags=re.IGNORECASE),
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


# Any key holding one of these words, in any syntax (an env file, YAML, JSON, TOML, INI, Go's :=, PHP's =>, a
# header, a CLI flag): "stripeKey", "ADAFRUIT_API_TOKEN", "x-auth-token", "--client-secret". The value must then
# look random (`_random_value`), so a name, a path or a version number next to such a key survives.
_KEY_WORD = re.compile(
    r"(?i)key|token|secret|passw|pwd|auth|cred|signature|salt|bearer|session|cookie|webhook|dsn|private|access"
)
_ANY_KEY_ASSIGNMENT = (
    r"(?<![\w.$-])(?P<key>[A-Za-z_$@][\w.$@-]{0,80}?)[\"'\]]{0,2}[ \t]*(?::=|=>|\?=|\|\|=|\+=|=(?!=)|:(?![:/]))[ \t]*"
    r"(?:\[[ \t]*)?(?:" + _QUOTED + r"|(?P<value>[^\s\"'`,;&<>()\[\]{}]{12,256}))"
)
_FLAG_ASSIGNMENT = r"(?<!\S)--?(?P<key>[\w-]{2,60})(?:=|[ \t]+)[\"']?(?P<value>[^\s\"']{12,256})"


def _random_value(value: str) -> bool:
    """Random enough to be a generated secret: a random token, or long mixed-case letters of high entropy."""
    value = value.rstrip("=")
    if len(value) < 12 or " " in value or is_placeholder(value) or _PLACEHOLDER_INSIDE.search(value):
        return False
    if _CODE_VALUE.search(value) or re.fullmatch(r"v?\d+(?:[._-]\d+)*(?:[-+][\w.]+)?", value):
        return False  # code, a version
    if _random_token(value, 12):
        return True
    return (
        len(value) >= 20
        and any(c.isupper() for c in value)
        and any(c.islower() for c in value)
        and shannon_entropy(value) >= 4.0
    )


def _keyed_random(match: re.Match[str], start: int, end: int) -> bool:
    return bool(_KEY_WORD.search(match.group("key"))) and _random_value(match.string[start:end])


def secret_assignment_recognizer(language: str = "en") -> SpanRecognizer:
    """Values assigned to secret-named keys in config, env files, JSON and headers (API_KEY=..., "secret": "..."),
    and random values assigned to any key or flag that holds a secret word."""
    patterns = [
        _pattern("secret_assignment", _SECRET_ASSIGNMENT, 0.85, _value_check(_assigned_secret), re.IGNORECASE),
        _pattern("keyed_random_value", _ANY_KEY_ASSIGNMENT, 0.8, _keyed_random),
        _pattern("flag_random_value", _FLAG_ASSIGNMENT, 0.8, _keyed_random),
    ]
    return SpanRecognizer(ENTITY, patterns, name="SecretAssignmentRecognizer", supported_language=language)


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
    from pipeline.detect.passphrases import passphrase_recognizer  # it reads this module's value checks

    language = context.policy.language
    return [
        spoken_forms(passphrase_recognizer(language)),
        provider_key_recognizer(language),
        DetectSecretsRecognizer(language),
        private_key_recognizer(language),
        url_credential_recognizer(language),
        auth_header_recognizer(language),
        spoken_forms(password_recognizer(language)),
        spoken_forms(pin_recognizer(language)),
        secret_assignment_recognizer(language),
        high_entropy_token_recognizer(language),
    ]
