from __future__ import annotations

import gzip

import pytest
from vcr.request import Request

from harness import load_contract
from harness.cassettes import CassetteError, cassette_dict, save_cassette
from harness.redaction import PLACEHOLDER
from harness.scanner import SecretScanner, is_placeholder, shannon_entropy
from tests.conftest import GITHUB, corpus_path


def cassette_with(tmp_path, request=None, response_body=b"{}", response_headers=None, name="c.yaml"):
    """Interaction 0 is clean; interaction 1 holds what the test is about."""
    clean = {"status": {"code": 200, "message": "OK"}, "headers": {}, "body": {"string": b"{}"}}
    request = request or Request("GET", "https://api.example.com/a", None, {})
    response = {
        "status": {"code": 200, "message": "OK"},
        "headers": response_headers or {"Content-Type": ["application/json"]},
        "body": {"string": response_body},
    }
    path = tmp_path / name
    save_cassette(
        path,
        cassette_dict([(Request("GET", "https://api.example.com/ok", None, {}), clean), (request, response)]),
    )
    return path


def fields(path, scanner=None):
    return [(f.interaction, f.field, f.kind) for f in (scanner or SecretScanner()).scan_file(path)]


@pytest.mark.parametrize(
    ("kind", "value"),
    [
        ("GitHub token", "ghp_" + "a1B2c3D4e5F6g7H8i9J0" * 2),
        ("GitHub token", "github_pat_11ABCDEFG0" + "x1Y2z3W4v5" * 6),
        ("Stripe secret key", "sk_live_" + "4eC39HqLyjWDarjtT1zdp7dc"),
        ("Stripe client secret", "pi_1F70K4IUmJaD6Oqv_secret_hgnbn7iX7DiQuKTT"),
        ("AWS access key id", "AKIAIOSFODNN7EXAMPLE"),
        ("Slack token", "xoxb-1234567890-abcdefghijkl"),
        ("OpenAI API key", "sk-proj-" + "Ab3dEf6hIj9kLm2nOp5q" * 2),
        ("Anthropic API key", "sk-ant-api03-" + "Ab3dEf6hIj9kLm2nOp5q"),
        ("Google API key", "AIza" + "SyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY"),
        ("Twilio API key", "SK" + "0123456789abcdef" * 2),
        (
            "JSON Web Token",
            "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
        ),
        ("private key", "-----BEGIN RSA PRIVATE KEY-----\nMIIEow..."),
        ("credentials in a URL", "https://deploy:hunter22@git.example.com/repo.git"),
    ],
)
def test_known_token_shapes_are_found_anywhere(tmp_path, kind, value):
    path = cassette_with(tmp_path, response_body=f'{{"note": {value!r}}}'.replace("'", '"').encode())
    assert (1, "response.body$.note", kind) in fields(path)


@pytest.mark.parametrize(
    ("headers", "uri", "field", "kind"),
    [
        (
            {"Authorization": "Bearer abc.def"},
            "",
            "request.headers.Authorization",
            "credential header not redacted",
        ),
        ({"X-Api-Key": "k"}, "", "request.headers.X-Api-Key", "credential header not redacted"),
        ({"Cookie": "sid=0123456789abcdef"}, "", "request.headers.Cookie.sid", "cookie value not redacted"),
        ({}, "?client_secret=abc", "request.uri?client_secret", "credential parameter not redacted"),
        ({}, "?access_token=abc", "request.uri?access_token", "credential parameter not redacted"),
    ],
)
def test_credential_locations_holding_a_value_are_findings(tmp_path, headers, uri, field, kind):
    path = cassette_with(tmp_path, Request("GET", f"https://api.example.com/a{uri}", None, headers))
    assert fields(path) == [(1, field, kind)]


def test_placeholders_are_not_findings(tmp_path):
    request = Request(
        "POST",
        f"https://api.example.com/a?access_token={PLACEHOLDER}&api_key=FILTERED",
        f'{{"password": "{PLACEHOLDER}", "token": "***"}}'.encode(),
        {"Authorization": f"Bearer {PLACEHOLDER}", "Cookie": f"sid={PLACEHOLDER}", "X-Api-Key": "REDACTED"},
    )
    path = cassette_with(
        tmp_path, request, response_headers={"Set-Cookie": [f"sid={PLACEHOLDER}; Path=/", "lang=en; Path=/"]}
    )
    assert fields(path) == []
    assert all(map(is_placeholder, ["<REDACTED>", "Bearer <REDACTED>", "XXXXXXXX", "[MASKED]", ""]))


def test_secret_named_fields_are_found_but_pagination_tokens_and_ids_are_not(tmp_path):
    body = b'{"data": {"refresh_token": "r1", "next_token": "7140dibdnow9c7btw3w29", "token_type": "bearer"}}'
    path = cassette_with(tmp_path, response_body=body)
    assert fields(path) == [(1, "response.body$.data.refresh_token", "credential field not redacted")]


def test_long_high_entropy_strings_in_headers_query_and_request_bodies_are_found(tmp_path):
    random_key = "q8Zr2LxT0vNb7WcK4pYs9HdJ"
    request = Request(
        "POST",
        f"https://api.example.com/a?sig={random_key}",
        f'{{"config": {{"k": "{random_key}"}}}}'.encode(),
        {"X-Custom": random_key, "Content-Type": "application/json"},
    )
    found = fields(cassette_with(tmp_path, request))
    assert [f[1] for f in found] == ["request.headers.X-Custom", "request.uri?sig", "request.body$.config.k"]
    assert all(f[2].startswith("high-entropy string") for f in found)
    assert shannon_entropy(random_key) > 4.0


@pytest.mark.parametrize(
    ("header", "value"),
    [
        ("ETag", 'W/"f7010df29ae7de00c6f093b748234cb0c8d2e1a4"'),
        ("X-GitHub-Request-Id", "C7A2:1B3E:5D2F1A:7E8C9B:5F8736AD"),
        ("X-Request-Id", "req_8f3b2c1d9e7a6b5c4d3e2f1a"),
        (
            "Content-Security-Policy",
            "default-src 'none'; connect-src github-production-repository-file-5c1aeb",
        ),
        ("X-Commit", "3f786850e387550fdab836ed7e6dc881de23001b"),
        ("X-Trace", "6f1c2a9e-1b2c-4d5e-8f90-123456789abc"),
    ],
)
def test_digests_ids_and_policies_are_not_mistaken_for_secrets(tmp_path, header, value):
    path = cassette_with(tmp_path, Request("GET", "https://api.example.com/a", None, {header: value}))
    assert fields(path) == []


def test_a_contracts_security_scheme_locations_are_checked(tmp_path):
    contract = tmp_path / "api.yaml"
    contract.write_text(
        "openapi: 3.0.3\ninfo: {title: t, version: '1'}\npaths: {}\n"
        "components:\n  securitySchemes:\n    k: {type: apiKey, in: query, name: k}\n"
    )
    path = cassette_with(tmp_path, Request("GET", "https://api.example.com/a?k=short", None, {}))
    assert fields(path) == []
    assert fields(path, SecretScanner(load_contract(contract))) == [
        (1, "request.uri?k", "securitySchemes credential")
    ]
    assert "authorization" in SecretScanner(load_contract(GITHUB))._headers


def test_gzip_compressed_bodies_are_scanned_and_findings_never_print_the_secret(tmp_path):
    secret = "ghp_" + "Z9y8X7w6V5u4T3s2R1q0" * 2
    path = cassette_with(
        tmp_path,
        response_body=gzip.compress(f'{{"token": "{secret}"}}'.encode()),
        response_headers={"Content-Encoding": ["gzip"]},
    )
    (finding,) = SecretScanner().scan_file(path)
    assert (finding.field, finding.kind) == ("response.body$.token", "GitHub token")
    assert secret not in str(finding)
    assert str(finding) == f"{path}: interaction 1: response.body$.token: GitHub token (ghp_… (44 chars))"


def test_a_file_that_is_not_a_cassette_is_an_error_naming_it(tmp_path):
    path = tmp_path / "notes.yaml"
    path.write_text("- just\n- a list\n")
    with pytest.raises(CassetteError, match=r"notes\.yaml: not a cassette"):
        SecretScanner().scan_file(path)


@pytest.mark.corpus
def test_real_recordings_with_tokens_are_flagged():
    github = SecretScanner().scan_file(
        corpus_path("cassettes", "codecov-shared-github", "test_get_authenticated_user.yaml")
    )
    assert [(f.interaction, f.field) for f in github] == [
        (0, "request.uri?client_secret"),
        (0, "response.body$.refresh_token"),
        (0, "response.body$.access_token"),
    ]
    stripe = SecretScanner().scan_file(
        corpus_path("cassettes", "saleor-stripe", "test_capture_3d_secure.yaml")
    )
    assert (3, "response.body$.error.payment_intent.client_secret", "Stripe client secret") in [
        (f.interaction, f.field, f.kind) for f in stripe
    ]
    twitter = SecretScanner().scan_file(
        corpus_path("cassettes", "tweepy-twitter", "test_client_create_and_delete_tweet.yaml")
    )
    assert (1, "request.headers.Cookie.guest_id") in [(f.interaction, f.field) for f in twitter]


@pytest.mark.corpus
@pytest.mark.parametrize(
    "name",
    [
        "codecov-shared-github/test_get_pull_request_commits_paginated.yaml",  # SHAs, ETags, PGP signatures
        "codecov-shared-github/test_get_repo_with_languages_graphql.yaml",
        "llm-anthropic/test_prompt.yaml",
        "saleor-stripe/test_authorize_error_response.yaml",  # a JSON User-Agent header, Stripe ids
        "pydantic-ai/test_run_stream_sync_streams_real_model.yaml",  # tool-call ids in request bodies
        "pydantic-ai/test_google_model_video_url_input.yaml",  # 1.7 MB binary video
    ],
)
def test_real_recordings_without_secrets_are_clean(name):
    assert SecretScanner().scan_file(corpus_path("cassettes", *name.split("/"))) == []
