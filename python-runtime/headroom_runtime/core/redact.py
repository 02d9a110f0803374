"""The one place the runtime removes secrets from what it writes (events and log lines).

Secrets are the values of environment variables whose names say so (HF_TOKEN,
*_API_KEY, ...) or that the user lists in HEADROOM_SECRET_ENV, as written or
percent-encoded, plus what only a secret looks like:

- a Hugging Face token (hf_ or api_org_ and 34 or more letters and digits) or a
  GitHub token (ghp_..., github_pat_...): an ordinary name such as hf_datasets is
  far shorter, so it stays;
- the user part of a URL (``scheme://user:password@host``), however a path holds
  it: ``//`` folded to ``/`` by path normalisation, backslashes, percent-encoded
  (once or more), in any segment;
- a query parameter named like a credential (token, api_key, sig,
  X-Amz-Signature, ...) and a Bearer header value.

The same rules, character for character, live in worker/src/redact.ts;
worker/test/redact.test.ts and tests/core/test_redact.py both run the table of
vectors in python-runtime/tests/vectors/redaction.json, and the TS test runs both
implementations over the same generated strings. Every
pattern is ASCII-only (re.ASCII, explicit classes) so Python and JavaScript read
it alike.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from functools import cache
from typing import Any

MASK = "***"
SECRET_NAME = re.compile(r"TOKEN|SECRET|PASSWORD|PASSWD|API_?KEY|ACCESS_?KEY|PRIVATE_?KEY|CREDENTIAL", re.I)
MARKED_VAR = "HEADROOM_SECRET_ENV"  # names further secret variables; holds names, not secrets
MIN_SECRET_LENGTH = 6  # shorter values ("1", "true") would blank ordinary words

PCT = "%(?:25)*"  # a percent sign, itself encoded any number of times (%25 is an encoded %)
COLON = f"(?::|{PCT}3[Aa])"
SLASH = f"(?:[/\\\\]|{PCT}(?:2[Ff]|5[Cc]))"
AT = f"(?:@|{PCT}40)"
# What ends a URL's user part: a path separator, blank or quote, raw or encoded.
USER_PART = f"(?:(?!{PCT}(?:2[Ff]|5[Cc]))[^/\\\\ \\t\\n\\v\\f\\r\"'<>`])+"
# Right after an encoded character (%2F, %252F, %25252F): where a word starts in an encoded path.
AFTER_ENCODED = "(?<=%[0-9A-Fa-f]{2})|(?<=%25[0-9A-Fa-f]{2})|(?<=%2525[0-9A-Fa-f]{2})"
# A token starts a word (or follows an encoded character): tried at word starts only,
# so a long word costs linear time.
WORD_START = f"(?:(?<![A-Za-z0-9])|{AFTER_ENCODED})"
SCHEME = f"(?:(?<![A-Za-z0-9+.-])|{AFTER_ENCODED})[A-Za-z][A-Za-z0-9+.-]+"
QUERY_START = f"(?:[?&;]|{PCT}(?:3[Ff]|26))"
QUERY_NAME = (
    "(?:[A-Za-z0-9]+[-_.])*(?:token|signature|secret|password|passwd|pwd|key|apikey|sig|credential|auth)"
)
QUERY_VALUE = f"(?:(?!{PCT}26)[^&#; \\t\\n\\v\\f\\r\"'<>`])+"

# (cue, pattern, replacement): a pattern runs only on text where its cue (a literal
# every match must contain) occurs, so ordinary text costs a few substring scans.
PATTERNS = (
    (
        re.compile("hf_|api_org_"),
        re.compile(f"{WORD_START}(hf_|api_org_)[A-Za-z0-9]{{34,}}(?![A-Za-z0-9])", re.A),
        r"\1" + MASK,
    ),
    (
        re.compile("gh[pousr]_"),
        re.compile(f"{WORD_START}(gh[pousr]_)[A-Za-z0-9]{{36,}}(?![A-Za-z0-9])", re.A),
        r"\1" + MASK,
    ),
    (
        re.compile("github_pat_"),
        re.compile(f"{WORD_START}(github_pat_)[A-Za-z0-9_]{{22,}}", re.A),
        r"\1" + MASK,
    ),
    # Greedy, then back to the last @ of the segment: user:p@ss@host hides ss too.
    (
        re.compile("@|%(?:25)*40"),
        re.compile(f"({SCHEME}{COLON}{SLASH}+){USER_PART}({AT})", re.A),
        r"\1" + MASK + r"\2",
    ),
    (
        re.compile("=|%(?:25)*3[Dd]"),
        re.compile(f"({QUERY_START}{QUERY_NAME}(?:=|{PCT}3[Dd])){QUERY_VALUE}", re.A | re.I),
        r"\1" + MASK,
    ),
    (
        re.compile("[Bb][Ee][Aa][Rr][Ee][Rr]"),
        re.compile(r"(?<![A-Za-z0-9_])(Bearer[ \t]+)[A-Za-z0-9._~+/-]+=*", re.A | re.I),
        r"\1" + MASK,
    ),
)


def secret_values(env: Mapping[str, str]) -> tuple[str, ...]:
    marked = {name.strip() for name in env.get(MARKED_VAR, "").split(",") if name.strip()}
    values = {
        value
        for name, value in env.items()
        if name != MARKED_VAR
        and (SECRET_NAME.search(name) or name in marked)
        and len(value) >= MIN_SECRET_LENGTH
    }
    return tuple(sorted(values, key=len, reverse=True))  # longest first: no partial leftovers


def _hex_digit(digit: str) -> str:
    return f"[{digit}{digit.lower()}]" if digit in "ABCDEF" else digit


@cache
def _secret_pattern(value: str) -> re.Pattern[str]:
    """A secret as written or with any characters percent-encoded, once or more (UTF-8, any hex case)."""
    source = ""
    for char in value:
        raw = re.escape(char)
        data = char.encode("utf-8", "replace")
        encoded = "".join(PCT + "".join(_hex_digit(d) for d in f"{byte:02X}") for byte in data)
        source += f"(?:{raw}|{encoded})"
    return re.compile(source)


@cache
def _process_secrets() -> tuple[str, ...]:
    return secret_values(os.environ)


def redact(text: str, secrets: tuple[str, ...] | None = None) -> str:
    for value in _process_secrets() if secrets is None else secrets:
        text = _secret_pattern(value).sub(MASK, text)
    for cue, pattern, replacement in PATTERNS:
        if cue.search(text):
            text = pattern.sub(replacement, text)
    return text


def redact_deep(value: Any) -> Any:
    """Every string inside a JSON-like value, redacted."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {key: redact_deep(item) for key, item in value.items()}
    if isinstance(value, list):
        return [redact_deep(item) for item in value]
    return value


class RedactingFilter:
    """A logging filter: log records leave with their secrets masked."""

    def filter(self, record: Any) -> bool:
        record.msg = redact(record.getMessage())
        record.args = None
        return True
