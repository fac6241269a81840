"""Credentials said the way people say them, beyond "password: X": the value before its cue, the code for a door,
a cue in another language, a passphrase or recovery phrase of plain words, a password spelled out letter by letter.

`credentials.py` reads passwords after an English cue. Here the cue is a concept, not a sentence: a password, PIN,
passcode, passphrase, door/alarm/gate/safe code, one-time or backup code or recovery phrase, in English, German,
French, Spanish, Portuguese, Dutch or Italian, and the value may come first ("Tr0ub4dor&3 is the new password",
"4471 — that's the door code"). Values still pass `credentials._password_value`, so states ("the password is
expired", "la contraseña es incorrecta") and code naming a secret survive. As every credential, the value alone
is reported: the cue keeps the sentence readable.
"""

from __future__ import annotations

import re

from pipeline.detect.credentials import ENTITY, _password_value, is_placeholder
from pipeline.detect.spans import SENTENCE_END, SpanPattern, SpanRecognizer

_pattern = SpanPattern.of
_I = re.IGNORECASE

# What a credential is called, by language. Door-like objects name codes by what they open.
_OPENS = (
    r"(?:front\s+|back\s+|side\s+|main\s+)?(?:door|gate|alarm|safe|lock|locker|keypad|building|office|garage|entrance"
    r"|storage|cage|server\s+room|bike\s+room|lockbox|key\s?box|padlock|cabinet|vault)"
)
_EN_CUE = (
    r"(?:password|passwd|passcode|pass\s?phrase|pin(?:\s+(?:code|number))?|pw|pwd|"
    + _OPENS
    + r"\s+(?:code|pin|combo|combination)|(?:access|entry|unlock|security|verification|one[-\s]time|backup"
    r"|recovery|2fa|mfa|otp|sms)\s+codes?|otp|(?:recovery|seed|secret|backup)\s+(?:phrase|words|key)|mnemonic)"
)
_FOREIGN_CUE = (
    r"(?:passwort|kennwort|zugangs(?:code|daten)|t[üu]rcode|pin-?code|geheimzahl|mot\s+de\s+passe|code\s+d'acc[eè]s"
    r"|digicode|code\s+(?:de\s+la\s+porte|de\s+l'alarme|secret|pin)|contrase[ñn]a|clave(?:\s+de\s+acceso)?"
    r"|c[óo]digo(?:\s+(?:de\s+(?:acesso|acceso|la\s+puerta|la\s+alarma|da\s+porta|do\s+alarme)|pin|secreto))?"
    r"|senha|wachtwoord|toegangscode|deurcode|pincode|parola\s+d'ordine|codice(?:\s+(?:pin|della\s+porta|di\s+accesso))?)"
)
_CUE = r"(?:" + _EN_CUE + "|" + _FOREIGN_CUE + r")"
_POSSESSIVE = (
    r"(?:the|my|our|your|his|her|their|this|that|a|new|current|temporary|temp|wifi|wi-fi|guest|admin|root|vpn"
    r"|email|laptop|account|der|die|das|mein|meine|unser|le|la|mon|ma|notre|el|mi|nuestro|nuestra|o|a|meu|minha"
    r"|nossa|het|de|mijn|onze|il|mio|mia)"
)
# Words between a cue and its value in speech and in other languages.
_IS = (
    r"(?:is|was|are|'s|’s|will\s+be|ist|lautet|war|est|c'est|sera|es|era|será|é|era|is|wordt|è|sarà|=|:|->|-|–|—)"
)
_FILLER = r"(?:\s*,?\s*(?:uh|um|er|erm|like|basically|just|now|still|currently|simply|ähm|euh|eh|pues|tipo|dus|ehm)\s*,?)*"
_VALUE = r"(?:\"(?P<value_dq>[^\"\n]{1,128})\"|'(?P<value_sq>[^'\n]{1,128})'|(?P<value>[^\s\"'`<]{3,128}))"

# "the code for the front door is 4471", "the PIN to the safe: 0719", "le code de la porte est 4471".
_CODE_FOR = (
    r"\b(?:code|pin|combo|combination|password|passcode|c[óo]digo|code)\s+(?:for|to|of|on|für|pour|para|voor|per)\s+"
    r"(?:(?:the|our|my|der|die|das|la|le|el|o|a|het|de|il)\s+)?" + _OPENS + r"\b(?:\s+\w+)?\s*" + _IS + _FILLER
    + r"\s*" + _VALUE
)
# "is" after a cue in any of the languages, fillers allowed: "the wifi password is, uh, Blue-Sky-42".
_CUE_THEN_VALUE = (
    r"\b(?:" + _POSSESSIVE + r"\s+){0,3}" + _CUE + r"\b(?:\s+(?:for|to|on|of|für|pour|para|voor|do|da|de|del|van|di)"
    r"\s+(?:" + _POSSESSIVE + r"\s+)?[\w@.-]+)?\s*" + _IS + _FILLER + r"\s*" + _VALUE
)
# The value first: "Tr0ub4dor&3 is the new password", "4471, that's the door code", "'hunter22' was my pin".
_VALUE_THEN_CUE = (
    r"(?:\"(?P<value_dq>[^\"\n]{3,64})\"|'(?P<value_sq>[^'\n]{3,64})'|(?<![\w@.-])(?P<value>[^\s\"'`<,]{4,64}))"
    r"\s*[,—–-]?\s*(?:is|was|will\s+be|that's|that\s+is|that\s+was|ist|est|c'est|es|é|is)\s+(?:" + _POSSESSIVE
    + r"\s+){1,3}" + _CUE + r"\b"
)
# A passphrase or recovery phrase of plain words: three to twenty-four lowercase words.
_PHRASE = (
    r"\b(?:pass\s?phrase|recovery\s+(?:phrase|words)|seed\s+(?:phrase|words)|mnemonic|secret\s+phrase|backup\s+phrase"
    r"|passwort|password|contrase[ñn]a|mot\s+de\s+passe|senha|wachtwoord)\b\s*" + _IS + r"?" + _FILLER
    + r"\s*[\"'“]?(?P<value>[a-zà-ÿ]{2,}(?:[ ,-]+[a-zà-ÿ]{2,}){2,23})"
)
# Codes listed after their cue: "backup codes: 4821-0937 5510-2284", "recovery codes are 8H2K-99QZ, 1MXR-72PA".
_CODE_LIST = (
    r"\b(?:backup|recovery|one[-\s]time|2fa|mfa)\s+codes?\b\s*(?:are|were|is|:|=)?\s*"
    r"(?P<value>[A-Za-z0-9]{4,12}(?:-[A-Za-z0-9]{3,12})?(?:[,;\s]+(?:and\s+)?[A-Za-z0-9]{4,12}(?:-[A-Za-z0-9]{3,12})?){0,15})"
)
# Spelled out after a cue: "password is capital T, i, g, e, r, seven, seven, exclamation mark".
_SPELLED_UNIT = (
    r"(?:(?:capital|upper\s?case|lower\s?case|small|big|the\s+letter|number|digit)\s+)?"
    r"(?:[A-Za-z]|zero|one|two|three|four|five|six|seven|eight|nine|dash|hyphen|underscore|dot|at(?:\s+sign)?"
    r"|hash|pound|dollar(?:\s+sign)?|star|asterisk|exclamation(?:\s+(?:mark|point))?|question\s+mark|percent"
    r"|ampersand|plus|equals|slash|period|comma)"
)
_SPELLED = (
    r"\b" + _CUE + r"\b[^.\n]{0,20}?\b(?:is|was|'s|:|spelled|spelt)\s*" + _FILLER + r"\s*,?\s*"
    r"(?P<value_spelled>" + _SPELLED_UNIT + r"(?:\s*[,-]?\s+" + _SPELLED_UNIT + r"){3,40})\b"
)


def _typed_looking(value: str) -> bool:
    """A bare value before its cue must look typed: a digit, a symbol inside, or mixed case."""
    core = value.rstrip(".,;:!?")
    return (
        len(core) >= 4
        and (
            any(c.isdigit() for c in core)
            or any(not c.isalnum() for c in core[1:-1])
            or (any(c.isupper() for c in core[1:]) and any(c.islower() for c in core))
        )
    )


# States and fillers said of a credential in the other languages ("das Passwort ist falsch", "est expiré").
_FOREIGN_STATES = frozenset(
    """falsch richtig abgelaufen geändert geheim neu leer gesperrt korrekt ungültig vergessen hier da noch jetzt
    incorrect incorrecte correct correcte expiré expirée changé changée oublié oubliée bloqué bloquée vide nouveau
    nouvelle ici toujours invalide valide incorrecta incorrecto correcta correcto caducada caducado cambiada
    cambiado olvidada nueva nuevo vacía bloqueada inválida válida aquí errada errado expirada incorreta incorreto
    correta alterada esquecida nova bloqueada vazia aqui fout verlopen gewijzigd vergeten nieuw leeg geblokkeerd
    ongeldig geldig hier sbagliata scaduta cambiata dimenticata nuova vuota bloccata qui""".split()
)


def _value_ok(match: re.Match[str], start: int, end: int) -> bool:
    value = match.string[start:end]
    return value.lower().rstrip(".,;:!?") not in _FOREIGN_STATES and _password_value(value, prose=True)


def _value_first_ok(match: re.Match[str], start: int, end: int) -> bool:
    value = match.string[start:end]
    if match.group("value") is not None and not _typed_looking(value):
        return False  # unquoted, it must look typed: "this is my password" names nothing
    return value.lower() not in _FOREIGN_STATES and _password_value(value, prose=True)


_PHRASE_STOP = frozenset(
    "is are was were the a an to for of and or but not no it this that expired wrong incorrect required reset changed"
    " stored saved shared written somewhere in on at with".split()
)


def _phrase_ok(match: re.Match[str], start: int, end: int) -> bool:
    words = re.findall(r"[^\s,-]+", match.string[start:end])
    return sum(w.lower() not in _PHRASE_STOP for w in words) >= 3 and words[0].lower() not in _PHRASE_STOP


def _codes_ok(match: re.Match[str], start: int, end: int) -> bool:
    codes = re.findall(r"[A-Za-z0-9-]+", match.string[start:end])
    return all(any(c.isdigit() for c in code) for code in codes if code.lower() != "and") and not is_placeholder(
        codes[0]
    )


# A typed-looking token (a digit with a symbol or mixed case) on the same line as a credential word, before or
# after it, however the sentence runs: "the password for the staging box we set up is now Qm7#rt2!", "Qm7#rt2!
# (staging pw)". A cue on the line above counts too ("Password:\nQm7#rt2!").
_NEAR_CUE_WORD = re.compile(
    r"(?i)(?<![^\W_])(?:" + _CUE + r"|pw|pwd|creds?|credentials|login)(?![^\W_])"
)
_TYPED_TOKEN = r"(?<![\w@/.:#-])(?P<value>(?=[^\s]*\d)[^\s\"'`<>()\[\]{},;]{6,64})"
_NOT_TYPED = re.compile(
    r"^(?:v?\d+(?:[._-]\d+)*(?:-[\w.]+)?|\d{1,4}[/.:-]\d{1,2}(?:[/.:-]\d{1,4})?|[\w.+-]+@[\w.-]+|\S*://\S*"
    r"|#?\d+|[A-Z][A-Z0-9]{1,9}-\d{1,6}|\d+(?:\.\d+)?(?:%|[a-z]{1,3}))$"
)


def _typed_near_cue(match: re.Match[str], start: int, end: int) -> bool:
    text = match.string
    value = text[start:end].rstrip(".,;:!?") or text[start:end]
    if _NOT_TYPED.match(value) or not _password_value(value, prose=True):
        return False
    mixed = any(c.isupper() for c in value) and any(c.islower() for c in value)
    symbol = any(not c.isalnum() and c not in "-_." for c in value[:-1])
    interleaved = sum(a.isdigit() != b.isdigit() for a, b in zip(value, value[1:]) if a.isalnum() and b.isalnum()) >= 2
    if not (symbol or mixed and interleaved and len(value) >= 8):
        return False
    line_start = text.rfind("\n", 0, start) + 1
    line_end = text.find("\n", end)
    line_end = len(text) if line_end < 0 else line_end
    ahead = text[max(line_start, start - 80) : start]
    behind = text[end : min(line_end, end + 50)]
    if _NEAR_CUE_WORD.search(ahead) or _NEAR_CUE_WORD.search(behind):
        return True
    above = text[text.rfind("\n", 0, max(0, line_start - 1)) + 1 : max(0, line_start - 1)]
    return line_start > 0 and text[line_start:start].strip() == "" and bool(re.search(
        r"(?i)(?:" + _CUE + r"|pw|pwd)\s*:?\s*$", above))


def passphrase_recognizer(language: str = "en") -> SpanRecognizer:
    """Codes for doors, values before their cue, cues in other languages, passphrases, code lists, spelled values."""
    patterns = [
        _pattern("code_for_object", _CODE_FOR, 0.85, _value_ok, _I, strip=SENTENCE_END),
        _pattern("cue_then_value", _CUE_THEN_VALUE, 0.85, _value_ok, _I),
        _pattern("value_then_cue", _VALUE_THEN_CUE, 0.8, _value_first_ok, _I),
        _pattern("passphrase_words", _PHRASE, 0.8, _phrase_ok, _I),
        _pattern("code_list", _CODE_LIST, 0.85, _codes_ok, _I),
        _pattern("spelled_out", _SPELLED, 0.85, None, _I),
        _pattern("typed_near_cue", _TYPED_TOKEN, 0.75, _typed_near_cue),
    ]
    return SpanRecognizer(ENTITY, patterns, name="PassphraseRecognizer", supported_language=language)
