"""Tokens: whitespace around them is dropped at load, a token no header can carry is refused without being
shown, and redaction knows every form a token takes in a message."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest

from reconcile.config import load_config
from reconcile.errors import ConfigError
from reconcile.logs import add_secrets, redact, setup

CONFIG = """\
version: 1
github:
  token: ${GITHUB_TOKEN}
  repos: [acme/web]
notion:
  database_id: db-1
mapping:
  properties:
    Name: {type: title, value: "{title}"}
"""
TOKEN = "secret_Tok3n_0123456789"
ODD = [TOKEN + "\n", TOKEN + "\r\n", TOKEN + " ", ' secret_with"quote_0123\n', "secret_back\\slash'quote\t"]


def load(tmp_path: Path, github: str, notion: str | None = None) -> tuple[str | None, str | None]:
    path = tmp_path / "config.yaml"
    path.write_text(CONFIG, encoding="utf-8")
    env = {"GITHUB_TOKEN": github, **({"NOTION_API_KEY": notion} if notion is not None else {})}
    config = load_config(path, env=env)
    tokens = (config.github.token, config.notion.token)
    return tuple(token.get_secret_value() if token else None for token in tokens)  # type: ignore[return-value]


@pytest.mark.parametrize("raw", ODD)
def test_surrounding_whitespace_is_stripped_from_config_and_override_tokens(tmp_path: Path, raw: str) -> None:
    assert load(tmp_path, raw, notion=raw) == (raw.strip(), raw.strip())


@pytest.mark.parametrize(
    ("inner", "named"),
    [
        ("\n", "a line break"),
        ("\r", "a line break"),
        ("\x00", "a control character (U+0000)"),
        ("\x7f", "a control character (U+007F)"),
        ("\u2019", "a character outside Latin-1 (U+2019)"),
    ],
)
def test_a_token_no_header_can_carry_is_one_line_naming_the_problem_not_the_token(
    tmp_path: Path, inner: str, named: str
) -> None:
    token = f"ghp_first_half{inner}second_half "
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, token)

    message = str(caught.value)
    assert "\n" not in message
    assert "github.token" in message and named in message and "GITHUB_TOKEN" in message
    assert "first_half" not in message and "second_half" not in message


@pytest.mark.parametrize("secret", ODD)
def test_every_form_of_a_secret_is_redacted(secret: str) -> None:
    add_secrets([secret])
    for value in (secret, secret.strip()):
        for form in (
            value,
            repr(value),
            ascii(value),
            json.dumps(value),
            json.dumps({"error": f"Bearer {value}"}),
            quote(value),
            quote(value, safe=""),
            quote_plus(value),
            repr(f"Bearer {value}".encode("latin-1")),
        ):
            message = f"InvalidHeader: header value {form} refused"
            assert value.strip() not in redact(message)
            assert "[redacted]" in redact(message), form


def test_a_json_log_line_never_shows_a_token_holding_a_quote(tmp_path: Path) -> None:
    secret = 'secret_has"quote_and_more'
    add_secrets([secret])
    path = tmp_path / "run.log"
    setup("debug", "json", str(path))
    logging.getLogger("reconcile.test").error("request failed: %s", {"auth": f"Bearer {secret}"})
    setup("info", "text")

    text = path.read_text(encoding="utf-8")
    assert "[redacted]" in text
    assert secret not in text and json.dumps(secret)[1:-1] not in text
