from __future__ import annotations

import json

import pytest
from vcr.request import Request

from harness import Redactor, load_contract, vcr_config
from harness.errors import ConfigurationError
from harness.redaction import PLACEHOLDER, RedactionRules, cassette_dir, credential_locations
from tests.conftest import GITHUB

SECRET = "s3cr3t-t0ken-abcdef"


def response(body: bytes = b"{}", **headers: list[str]) -> dict:
    return {
        "status": {"code": 200, "message": "OK"},
        "headers": {
            "Content-Type": ["application/json"],
            **{k.replace("_", "-"): v for k, v in headers.items()},
        },
        "body": {"string": body},
    }


@pytest.mark.parametrize(
    ("name", "value", "stored"),
    [
        ("Authorization", f"Bearer {SECRET}", f"Bearer {PLACEHOLDER}"),
        ("authorization", f"token {SECRET}", f"token {PLACEHOLDER}"),
        ("Authorization", SECRET, PLACEHOLDER),
        ("Proxy-Authorization", f"Basic {SECRET}", f"Basic {PLACEHOLDER}"),
        ("X-Api-Key", SECRET, PLACEHOLDER),
        ("Cookie", f"session={SECRET}; theme=dark", f"session={PLACEHOLDER}; theme={PLACEHOLDER}"),
    ],
    ids=["bearer", "token", "bare", "proxy-basic", "x-api-key", "cookie"],
)
def test_default_credential_headers_are_replaced_keeping_the_scheme(name, value, stored):
    redacted = Redactor().request(Request("GET", "https://api.example.com/a", None, {name: value}))
    assert redacted.headers[name] == stored


def test_the_original_request_is_left_untouched():
    original = Request("GET", "https://api.example.com/a", None, {"Authorization": f"Bearer {SECRET}"})
    Redactor().request(original)
    assert original.headers["Authorization"] == f"Bearer {SECRET}"


def test_set_cookie_keeps_cookie_names_and_attributes_but_not_values():
    redacted = Redactor().response(response(Set_Cookie=[f"session={SECRET}; Path=/; HttpOnly", "lang=en"]))
    assert redacted["headers"]["Set-Cookie"] == [
        f"session={PLACEHOLDER}; Path=/; HttpOnly",
        f"lang={PLACEHOLDER}",
    ]


def test_query_parameters_and_credentials_in_the_url_are_redacted():
    redactor = Redactor(RedactionRules().extended(query_parameters=["sig"]))
    redacted = redactor.request(
        Request(
            "GET", f"https://user:{SECRET}@api.example.com/a?page=2&sig=abc123456&access_token=xyz", None, {}
        )
    )
    assert (
        redacted.uri
        == f"https://{PLACEHOLDER}@api.example.com/a?page=2&sig={PLACEHOLDER}&access_token={PLACEHOLDER}"
    )


def test_configured_json_fields_are_redacted_at_any_depth_in_requests_and_responses():
    redactor = Redactor(RedactionRules().extended(body_fields=["pin"]))
    body = json.dumps({"user": {"pin": 1234, "name": "Ada"}, "items": [{"password": "hunter22"}]}).encode()
    request = redactor.request(Request("POST", "https://h/a", body, {"Content-Type": "application/json"}))
    assert json.loads(request.body) == {
        "user": {"pin": PLACEHOLDER, "name": "Ada"},
        "items": [{"password": PLACEHOLDER}],
    }
    stored = redactor.response(
        response(b'{"access_token": "abc", "token_type": "bearer"}', Content_Length=["47"])
    )
    assert json.loads(stored["body"]["string"]) == {"access_token": PLACEHOLDER, "token_type": "bearer"}
    assert stored["headers"]["Content-Length"] == [str(len(stored["body"]["string"]))]


def test_form_bodies_are_redacted_and_other_bodies_left_byte_for_byte():
    redactor = Redactor()
    form = redactor.request(
        Request(
            "POST",
            "https://h/token",
            b"grant_type=password&password=hunter22&client_secret=abc",
            {"Content-Type": "application/x-www-form-urlencoded"},
        )
    )
    assert form.body == f"grant_type=password&password={PLACEHOLDER}&client_secret={PLACEHOLDER}".encode()
    untouched = b'{ "a" :  1 }'
    assert redactor.request(
        Request("POST", "https://h/x", untouched, {"Content-Type": "application/json"})
    ).body == (untouched)


def test_a_secret_echoed_elsewhere_is_scrubbed_too():
    redactor = Redactor()
    request, stored = redactor.interaction(
        Request("GET", "https://h/me", None, {"Authorization": f"Bearer {SECRET}"}),
        response(f'{{"you_sent": "Bearer {SECRET}"}}'.encode(), X_Echo=[SECRET]),
    )
    assert SECRET.encode() not in stored["body"]["string"]
    assert stored["headers"]["X-Echo"] == [PLACEHOLDER]
    assert request.headers["Authorization"] == f"Bearer {PLACEHOLDER}"


def test_redaction_is_idempotent():
    redactor = Redactor()
    once = redactor.request(
        Request(
            "GET", "https://h/a?api_key=k3y", None, {"Authorization": f"Bearer {SECRET}", "Cookie": "a=b"}
        )
    )
    twice = redactor.request(once)
    assert (twice.uri, dict(twice.headers)) == (once.uri, dict(once.headers))


def test_security_schemes_name_header_query_and_cookie_credentials():
    schemes = {
        "key": {"type": "apiKey", "in": "query", "name": "key"},
        "sid": {"type": "apiKey", "in": "cookie", "name": "sid"},
        "custom": {"type": "apiKey", "in": "header", "name": "X-Custom-Auth"},
        "bearer": {"type": "http", "scheme": "bearer"},
    }
    assert credential_locations(schemes) == ({"X-Custom-Auth", "Authorization"}, {"key"}, {"sid"})


def test_a_contracts_security_schemes_extend_the_rules(tmp_path):
    contract = tmp_path / "api.yaml"
    contract.write_text(
        "openapi: 3.0.3\ninfo: {title: t, version: '1'}\npaths: {}\n"
        "components:\n  securitySchemes:\n"
        "    q: {type: apiKey, in: query, name: key}\n"
        "    h: {type: apiKey, in: header, name: X-Custom-Auth}\n"
    )
    redacted = Redactor.for_contract(contract).request(
        Request("GET", "https://h/a?key=abcdefgh&page=1", None, {"X-Custom-Auth": SECRET})
    )
    assert redacted.uri == f"https://h/a?key={PLACEHOLDER}&page=1"
    assert redacted.headers["X-Custom-Auth"] == PLACEHOLDER
    assert "authorization" in Redactor.for_contract(load_contract(GITHUB)).rules.headers


def test_vcr_config_uses_the_redactor_and_the_cassettes_api_layout(tmp_path):
    config = vcr_config("github", contract=GITHUB, root=tmp_path, headers=["X-Trace-Token"])
    assert config["cassette_library_dir"] == str(tmp_path / "cassettes" / "github")
    assert config["decode_compressed_response"] is True
    redacted = config["before_record_request"](
        Request(
            "GET",
            "https://api.github.com/user",
            None,
            {"X-Trace-Token": "abc", "Authorization": "token t0k3n"},
        )
    )
    assert redacted.headers["X-Trace-Token"] == PLACEHOLDER
    assert redacted.headers["Authorization"] == f"token {PLACEHOLDER}"
    assert "cassette_library_dir" not in vcr_config()


def test_an_unusable_api_name_is_refused():
    with pytest.raises(ConfigurationError, match=r"'\.\./' is not usable as an API name"):
        cassette_dir("../")
