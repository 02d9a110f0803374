"""Masking in the runtime (issue 9, class 6): the same rules as worker/src/redact.ts.

Both sides run the shared table tests/vectors/redaction.json (worker/test/redact.test.ts
too); the generated cases below are this side's own.

Secrets in any form of a path are masked; ordinary names that merely look like a
token pattern (hf_datasets, hf_tinymodel1) are not. Generated variants come from a
seeded generator, so a failure names the case that can be replayed.
"""

from __future__ import annotations

import json
import posixpath
import random
from typing import Any
from urllib.parse import quote

import pytest
from conftest import REPO_ROOT

from headroom_runtime.core.redact import MASK, redact, redact_deep, secret_values

ALNUM = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
ORDINARY = ["hf_datasets", "hf_tinymodel1", "hf_cache", "ghp_notes", "models--org--name", "token_cache"]
ORDINARY += ["api-keys", "passwords.txt", "user@host", "v1.2", "a:b", "key=3", "Bearer", "sig", "données"]


def word(rng: random.Random, alphabet: str, low: int, high: int) -> str:
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(low, high)))


def ordinary_segment(rng: random.Random) -> str:
    return rng.choice(
        [
            lambda: rng.choice(ORDINARY),
            lambda: "hf_" + word(rng, ALNUM, 1, 33),
            lambda: "ghp_" + word(rng, ALNUM, 1, 35),
            lambda: word(rng, ALNUM + "_.-", 1, 20),
        ]
    )()


def ordinary_path(rng: random.Random) -> str:
    segments = [ordinary_segment(rng) for _ in range(rng.randint(1, 6))]
    return rng.choice(["", "/", "./", "~/", "C:\\", "../"]) + rng.choice(["/", "\\"]).join(segments)


def credential_case(rng: random.Random) -> tuple[str, list[str]]:
    user = "Uq7" + word(rng, ALNUM, 1, 8)
    password = "Zq9" + word(rng, ALNUM + "-._~!$&()*+,;=:@", 3, 16)
    userinfo = password if rng.random() < 0.3 else f"{user}:{password}"
    scheme = rng.choice(["https", "http", "git+https", "s3", "hf"])
    slashes = rng.choice(["/", "//", "///", "\\", "\\\\"])
    url = f"{scheme}:{slashes}{userinfo}@{rng.choice(['huggingface.co', 'example.org', 'host'])}"
    before = [ordinary_segment(rng) for _ in range(rng.randint(0, 3))]
    after = [ordinary_segment(rng) for _ in range(rng.randint(0, 3))]
    path = "/".join([*before, url, *after])
    form = rng.choice(["raw", "normalised", "encoded", "encoded twice", "json"])
    text = {
        "raw": "/" + path,
        "normalised": posixpath.normpath("/work/" + path),  # // folded to /
        "encoded": "/".join([*before, quote(url, safe=""), *after]),
        "encoded twice": quote(quote("/" + path, safe=""), safe=""),
        "json": json.dumps({"input": {"path": path}}),
    }[form]
    return text, [user, password]


VECTORS = json.loads((REPO_ROOT / "python-runtime/tests/vectors/redaction.json").read_text("utf-8"))


@pytest.mark.parametrize("vector", VECTORS["masked"], ids=lambda v: v["input"][:40])
def test_shared_vectors_are_masked_as_expected(vector: dict[str, Any]) -> None:
    assert redact(vector["input"], tuple(vector.get("secrets", ()))) == vector["expected"]


@pytest.mark.parametrize("text", VECTORS["unchanged"])
def test_shared_vectors_that_must_stay_unchanged(text: str) -> None:
    assert redact(text, ()) == text


@pytest.mark.parametrize("vector", VECTORS["secretValues"])
def test_shared_vectors_of_secret_variables(vector: dict[str, Any]) -> None:
    assert list(secret_values(vector["env"])) == vector["secrets"]


def test_a_url_credential_is_masked_in_every_form_of_a_path() -> None:
    rng = random.Random(9)
    for _ in range(2000):
        text, secrets = credential_case(rng)
        out = redact(text, ())
        for secret in secrets:
            assert secret not in out and quote(secret, safe="") not in out, text
        assert MASK in out, text


def test_ordinary_names_that_look_like_token_patterns_stay() -> None:
    rng = random.Random(10)
    for _ in range(2000):
        path = ordinary_path(rng)
        assert redact(path, ()) == path


def test_real_token_shapes_are_masked_wherever_they_stand() -> None:
    rng = random.Random(11)
    for _ in range(1000):
        prefix = rng.choice(["hf_", "api_org_", "ghp_", "gho_", "github_pat_"])
        body = word(rng, ALNUM, 36, 44)
        left, right = rng.choice(["", " ", "/", '"', "%2F"]), rng.choice(["", " ", "/", "&", ".txt"])
        text = left + prefix + body + right
        assert body not in redact(text, ()), text


def test_secret_variables_are_masked_as_written_or_percent_encoded() -> None:
    env = {"HF_TOKEN": "abcdefgh123", "OPENAI_API_KEY": "sk-xyz-987654", "SHORT_TOKEN": "1", "PATH": "/bin"}
    secrets = secret_values(env)
    assert secrets == ("sk-xyz-987654", "abcdefgh123")
    assert redact("key sk-xyz-987654 and abcdefgh123", secrets) == "key *** and ***"
    rng = random.Random(12)
    for _ in range(500):
        value = "Sq3" + word(rng, ALNUM + "/+=@:!é€ ", 6, 24)
        shown = "".join(quote(c, safe="") if rng.random() < 0.5 else c for c in value)
        assert redact(f"/data/{shown}/x", (value,)) == "/data/***/x", shown


def test_masking_is_idempotent_and_walks_json() -> None:
    rng = random.Random(13)
    for _ in range(500):
        once = redact(credential_case(rng)[0], ())
        assert redact(once, ()) == once
    token = "hf_" + "Ab1" * 12
    walked = redact_deep({"a": [f"x {token}"], "n": 3, "b": {"c": None}})
    assert walked == {"a": ["x hf_***"], "n": 3, "b": {"c": None}}
