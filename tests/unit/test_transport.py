"""The transport's own pieces: where its connections go (the environment read as `requests` reads it), and
the answer as the clients see it."""

from __future__ import annotations

from pathlib import Path

import pytest
import urllib3
from urllib3 import HTTPHeaderDict

from reconcile.clients.http import Answer, _pool

NOTION = "https://api.notion.com"


def test_an_https_proxy_in_the_environment_carries_the_requests(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.internal:3128")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    pool = _pool(NOTION)
    assert isinstance(pool, urllib3.ProxyManager) and pool.proxy is not None
    assert (pool.proxy.host, pool.proxy.port) == ("proxy.internal", 3128)


def test_no_proxy_naming_the_host_sends_directly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.internal:3128")
    monkeypatch.setenv("NO_PROXY", "localhost,api.notion.com")
    assert not isinstance(_pool(NOTION), urllib3.ProxyManager)


def test_tls_is_verified_against_the_bundle_the_environment_names(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    bundle = tmp_path / "corporate-ca.pem"
    bundle.write_text("", encoding="utf-8")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(bundle))
    pool = _pool(NOTION)
    assert pool.connection_pool_kw["ca_certs"] == str(bundle)
    assert pool.connection_pool_kw["cert_reqs"] == "CERT_REQUIRED"
    monkeypatch.delenv("REQUESTS_CA_BUNDLE")
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    assert _pool(NOTION).connection_pool_kw["ca_certs"] != str(bundle)  # certifi's, as before


def test_an_answer_reads_as_the_clients_expect() -> None:
    headers = HTTPHeaderDict(
        {
            "content-type": "application/json",
            "link": '<https://api.github.com/repositories/1/issues?page=2>; rel="next", '
            '<https://api.github.com/repositories/1/issues?page=9>; rel="last"',
        }
    )
    url = "https://api.github.com/repos/acme/web/issues?state=all"
    answer = Answer("GET", url, 200, "OK", headers, b'[{"number": 1}]')
    assert answer.ok and answer.json() == [{"number": 1}] and answer.path == "/repos/acme/web/issues"
    assert answer.headers["Content-Type"] == "application/json"  # any case
    assert answer.links["next"]["url"].endswith("page=2") and answer.links["last"]["url"].endswith("page=9")
    failed = Answer("PATCH", url, 502, "Bad Gateway", HTTPHeaderDict(), b"<html>")
    assert not failed.ok and failed.links == {}
    with pytest.raises(ValueError):
        failed.json()
