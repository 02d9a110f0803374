"""The one place the worker removes secrets from what it writes (events and log lines).

Secrets are the values of environment variables whose names say so (HF_TOKEN,
*_API_KEY, ...) or that the user lists in HEADROOM_SECRET_ENV, plus anything
shaped like a Hugging Face token, a URL credential or a token query parameter.
The same rules live in worker/src/redact.ts for the Engine.
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
PATTERNS = (
    (re.compile(r"\bhf_[A-Za-z0-9]{8,}"), "hf_" + MASK),
    (re.compile(r"\b([a-z][a-z0-9+.-]*://)[^/\s@:]+(:[^/\s@]*)?@", re.I), r"\1" + MASK + "@"),
    (
        re.compile(
            r"([?&](?:token|access_token|api_key|apikey|key|secret|password|sig|signature)=)[^&\s#\"']+", re.I
        ),
        r"\1" + MASK,
    ),
    (re.compile(r"\b(Bearer\s+)[A-Za-z0-9._~+/-]+=*", re.I), r"\1" + MASK),
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


@cache
def _process_secrets() -> tuple[str, ...]:
    return secret_values(os.environ)


def redact(text: str, secrets: tuple[str, ...] | None = None) -> str:
    for value in _process_secrets() if secrets is None else secrets:
        text = text.replace(value, MASK)
    for pattern, replacement in PATTERNS:
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
