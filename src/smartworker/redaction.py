"""The one rule for secrets: everything that leaves the process passes through here.

LLM prompts, e-mails, log lines and the failure memory all carry job data and tracebacks, so they
all go through :func:`redact` (JSON-like values) or :func:`redact_text` (free text). Both are
idempotent: redacting redacted output changes nothing, so layers may redact defensively.

What is masked, in this order (each rule replaces only the secret part with ``[REDACTED]``):

1. PEM private-key blocks (a truncated block is masked to the end of the text);
2. ``Cookie:`` / ``Set-Cookie:`` header values, ``Authorization:`` credentials (the scheme is kept);
3. well-known token shapes: JWTs, AWS access key ids, GitHub, Slack, OpenAI/Anthropic, Stripe and
   Google API keys, and ``Bearer <token>``;
4. the password of URL userinfo (``scheme://user:pass@host`` keeps ``user``);
5. ``key=value`` / ``key: value`` / ``"key": "value"`` where the key looks secret (:func:`is_secret_key`);
6. long random-looking strings (see :func:`_looks_random`).

Source code must survive: tracebacks and handler sources are shown to the model, and a mangled
line would be copied back into its fix. So rule 5 leaves values that look like Python
expressions alone (``password=password``, ``token: str``, ``data["password"]``), and rule 6 ignores
identifiers, paths and UUIDs.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Callable
from typing import Any

#: What every masked value becomes.
REDACTED = "[REDACTED]"

# -- keys --------------------------------------------------------------------------------------------

# Markers matched against the key with case, "_", "-", "." and spaces removed ("X-Api-Key" ->
# "xapikey"): compound words are distinctive enough to match anywhere in the key.
_KEY_SUBSTRINGS = (
    "password",
    "passwd",
    "passphrase",
    "secret",
    "apikey",
    "authorization",
    "cookie",
    "privatekey",
    "credential",
    "accesskey",
    "sessid",
    "signingkey",
    "encryptionkey",
)
# Short markers match whole words only, or "author" would count as "auth" and "max_tokens" (a
# count, not a secret) as "token". A word ending in "token" ("accesstoken") still counts.
_KEY_WORDS = frozenset({"token", "auth", "session", "pwd", "pass", "jwt", "bearer", "otp", "pin", "csrf"})
_WORD_SPLIT = re.compile(r"[^A-Za-z0-9]+|(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
# Exception class names are not keys: "InvalidTokenError: bad signature" is a message.
_NOT_A_KEY_SUFFIXES = ("error", "exception", "warning")


def is_secret_key(key: str) -> bool:
    """Whether a mapping key or ``key=value`` name says its value is a secret."""
    words = [w.lower() for w in _WORD_SPLIT.split(key) if w]
    if not words or words[-1] in _NOT_A_KEY_SUFFIXES:
        return False
    joined = "".join(words)
    if any(marker in joined for marker in _KEY_SUBSTRINGS):
        return True
    return any(w in _KEY_WORDS or (w.endswith("token") and w != "tokens") for w in words)


# -- text rules --------------------------------------------------------------------------------------

_PEM = re.compile(
    r"-----BEGIN[A-Z0-9 ]*PRIVATE KEY( BLOCK)?-----(?:.*?-----END[A-Z0-9 ]*PRIVATE KEY( BLOCK)?-----|.*\Z)",
    re.DOTALL,
)
_PEM_MASK = f"-----BEGIN PRIVATE KEY-----{REDACTED}-----END PRIVATE KEY-----"

_COOKIE_HEADER = re.compile(r"(?im)^([ \t]*(?:set-)?cookie[ \t]*:[ \t]*)(\S.*)$")
_AUTH_HEADER = re.compile(
    r"(?i)\b((?:proxy-)?authorization[\"']?[ \t]*[:=][ \t]*[\"']?)"
    r"((?:bearer|basic|digest|token|negotiate|apikey)[ \t]+)?"
    r"([^\s\"',;]{6,})"
)
_TOKENS = re.compile(
    "|".join(
        (
            r"\beyJ[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]*",  # JWT (header is '{"...')
            r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA)[A-Z0-9]{16}\b",  # AWS access key id
            r"\bgh[pousr]_[A-Za-z0-9]{30,}",  # GitHub tokens
            r"\bgithub_pat_[A-Za-z0-9_]{20,}",
            r"\bxox[abposre]-[A-Za-z0-9-]{10,}",  # Slack
            r"\bsk-(?:proj-|ant-|svcacct-)?[A-Za-z0-9_-]{20,}",  # OpenAI / Anthropic
            r"\b[sr]k_(?:live|test)_[A-Za-z0-9]{16,}",  # Stripe
            r"\bAIza[0-9A-Za-z_-]{35}",  # Google API key
        )
    )
)
_BEARER = re.compile(r"(?i)\b(bearer[ \t]+)([A-Za-z0-9._~+/-]{8,}=*)")
_URL_USERINFO = re.compile(r"\b([A-Za-z][A-Za-z0-9+.-]*://[^\s:/?#@\[\]]*:)([^\s@/?#]+)(@)")

# key SEP value, where the key may be quoted and the value quoted or bare. Separators do not cross
# lines, so `if key == "password":` followed by code is not a pair. A bare value does not end in
# ":" or "." (sentence punctuation, as in "bad token=abc123: retry").
_PAIR = re.compile(
    r"(?<![\w.-])(?P<kq>[\"']?)(?P<key>[A-Za-z_][A-Za-z0-9_.-]*)(?P=kq)"
    r"(?P<sep>[ \t]*[:=][ \t]*)"
    r"(?P<value>\"(?:[^\"\\\n]|\\.)*\"|'(?:[^'\\\n]|\\.)*'|\[REDACTED\]|[^\s'\"`,;&()\[\]{}<>]*[^\s'\"`,;&()\[\]{}<>:.])"
    r"(?=(?P<after>.?))"
)
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*\Z")
_PY_CONSTANTS = frozenset({"None", "True", "False"})

_RUN = re.compile(r"(?<![A-Za-z0-9+/_=-])[A-Za-z0-9+/_=-]{32,}(?![A-Za-z0-9+/_=-])")
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\Z")
_HEX = re.compile(r"[0-9a-f]+\Z|[0-9A-F]+\Z")
# A path's pieces are words or numbers, each in one case; a random base64 token's pieces mix cases
# and digits (a 10-character piece is single-class with probability about 1e-4).
_PATH_PIECES = re.compile(r"[/_=+-]+")
_WORDLIKE = re.compile(r"[0-9]+\Z|[a-z]+[0-9]*\Z|[A-Z][a-z]*[0-9]*\Z|[A-Z]+[0-9]*\Z")

# Shannon entropy thresholds, bits per character, measured on 2,000 samples each (Nov 2026):
# random 32-char base64 / base62 tokens have a 1st percentile of 4.18-4.23 and a minimum of 3.97;
# file paths and long identifiers land at 3.5-4.3. Entropy alone cannot separate them, so it is
# combined with the character mix (see _looks_random) and set just under the random minimum.
_MIN_ENTROPY_MIXED = 3.9
# Random lowercase+digit (base36) tokens sit around 4.5; paths with digits reach 4.3, but those
# have "/" or few digits, which the mix rule already excludes.
_MIN_ENTROPY_LOWER_DIGITS = 4.0
# 32 random hex digits have a minimum of 3.14; "000...0" or "abab..." fall below 3.
_MIN_ENTROPY_HEX = 3.0


def _entropy(text: str) -> float:
    """Shannon entropy of ``text`` in bits per character."""
    n = len(text)
    return -sum(c / n * math.log2(c / n) for c in Counter(text).values())


def _looks_random(run: str) -> bool:
    """Whether a 32+ character token run is a key or token rather than a word, path or UUID.

    Identifiers, snake_case names and paths lack either an upper-case letter or a share of
    digits; random tokens over 62+ symbols almost never do (a 32-char base62 token lacks a digit
    with probability 0.4 %, an upper-case letter with probability 3e-8).
    """
    if _UUID.match(run):
        return False  # UUIDs are ids that tracebacks and job data need to stay readable
    if _HEX.match(run):
        has_digit = any(c.isdigit() for c in run)
        return has_digit and not run.isdigit() and _entropy(run) >= _MIN_ENTROPY_HEX
    if "/" in run and all(_WORDLIKE.match(piece) for piece in _PATH_PIECES.split(run) if piece):
        return False  # a storage key or URL path: invoices/2026/acme-tools-ltd/INV-00004521
    upper = sum(c.isupper() for c in run)
    lower = sum(c.islower() for c in run)
    digits = sum(c.isdigit() for c in run)
    if upper and lower and digits:
        return _entropy(run) >= _MIN_ENTROPY_MIXED
    if lower and digits and not upper and "/" not in run:
        # base36-like: digits spread through it, not a name with a number at the end
        share = digits / len(run)
        return 0.2 <= share <= 0.8 and _entropy(run) >= _MIN_ENTROPY_LOWER_DIGITS
    return False


def _mask_pair(m: re.Match[str]) -> str:
    """Mask the value of a ``key SEP value`` pair whose key is secret, unless it is code."""
    key, value, sep, after = m["key"], m["value"], m["sep"], m["after"]
    head = m[0][: m.start("value") - m.start()]
    if not is_secret_key(key):
        # The match consumed the value, which may hold a pair of its own: x = 'password=hunter2',
        # url=https://h/?token=abc123.
        return head + _PAIR.sub(_mask_pair, value)
    if value == REDACTED:
        return m[0]
    if value[0] in "\"'":
        if len(value) == 2:
            return m[0]  # an empty string hides nothing, and says the value was missing
        if _IDENTIFIER.match(value[1:-1]) and is_secret_key(value[1:-1]):
            return m[0]  # a field name (PASSWORD_FIELD = "password"), not a value
        return f"{head}{value[0]}{REDACTED}{value[0]}"
    if _IDENTIFIER.match(value):
        # A bare name is most often code: `password=password`, `token: str`, `auth=self.auth`,
        # `password=get_password()`. Mask it only where it reads like a log field.
        if value in _PY_CONSTANTS or (after != "" and after in "([."):
            return m[0]
        if "." in value or value.lower() == key.lower() or ("_" in value and is_secret_key(value.rsplit(".", 1)[-1])):
            return m[0]
        tight = sep.strip() == sep  # no spaces around the separator: "password=hunter2"
        if sep.strip() == ":" and not tight:
            # "password: hunter2" (YAML, logs) vs "password: str" (annotations): a secret
            # usually mixes letters and digits, a type never does.
            if not (any(c.isdigit() for c in value) and any(c.isalpha() for c in value)):
                return m[0]
        elif not tight:
            return m[0]  # "password = pw" is an assignment in code
    return f"{head}{REDACTED}"


def _mask_run(m: re.Match[str]) -> str:
    """Mask a long token run when it looks random."""
    return REDACTED if _looks_random(m[0]) else m[0]


def _mask_bearer(m: re.Match[str]) -> str:
    """Mask a bearer token, but not an English word after "bearer"."""
    token = m[2]
    if any(c.isdigit() or c in "._~+/-" for c in token):
        return m[1] + REDACTED
    return m[0]


_RULES: tuple[tuple[re.Pattern[str], str | Callable[[re.Match[str]], str]], ...] = (
    (_PEM, _PEM_MASK),
    (_COOKIE_HEADER, rf"\1{REDACTED}"),
    (_AUTH_HEADER, rf"\1\2{REDACTED}"),
    (_TOKENS, REDACTED),
    (_BEARER, _mask_bearer),
    (_URL_USERINFO, rf"\1{REDACTED}\3"),
    (_PAIR, _mask_pair),
    (_RUN, _mask_run),
)

# Each pass only replaces text with REDACTED; a second pass can find a pair that a replacement
# just made adjacent. Passes repeat until nothing changes (in practice 1-2), which makes the
# function idempotent by construction; the bound only guards against a rule bug.
_MAX_PASSES = 6


def _redact_once(text: str) -> str:
    for pattern, replacement in _RULES:
        text = pattern.sub(replacement, text)
    return text


def redact_text(text: str) -> str:
    """Mask credentials inside free text (messages, tracebacks, sources, log lines)."""
    if not text:
        return text
    for _ in range(_MAX_PASSES):
        new = _redact_once(text)
        if new == text:
            break
        text = new
    return text


def redact(value: Any) -> Any:
    """Return a redacted deep copy of JSON-like data (dicts, lists, tuples, strings, scalars).

    A value under a secret-looking key (:func:`is_secret_key`) becomes ``[REDACTED]`` whole, even
    when it is a dict or a number; ``None``, booleans and empty strings stay, since they hide
    nothing and tell a reader that the secret was missing. Every other string goes through
    :func:`redact_text`, keys included. Other objects are returned as they are.
    """
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        out: dict[Any, Any] = {}
        for k, v in value.items():
            if (
                isinstance(k, str)
                and is_secret_key(k)
                and not (v is None or isinstance(v, bool) or (isinstance(v, str) and not v))
            ):
                out[redact_text(k)] = REDACTED
            else:
                out[redact_text(k) if isinstance(k, str) else k] = redact(v)
        return out
    if isinstance(value, list):
        return [redact(v) for v in value]
    if isinstance(value, tuple):
        return tuple(redact(v) for v in value)
    return value


def redacted_json(value: Any, limit: int) -> str:
    """``value`` as one line of redacted JSON, cut to ``limit`` characters (the last one "…"): how a
    job's data or result is quoted in a reason, which reaches the prompt, the record and the email."""
    text = json.dumps(redact(value), sort_keys=True, default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"
