from __future__ import annotations

import pytest

from harness.errors import ConfigurationError
from harness.matchers import DEFAULT_MATCH_ON, builtin_matcher_names, index_fields, parse_match_on, replay_vcr


def test_default_leaves_out_scheme_host_and_port():
    assert DEFAULT_MATCH_ON == ("method", "path", "query")


def test_parse_match_on_accepts_vcrpy_names():
    assert parse_match_on(" method, path,query,body ") == ("method", "path", "query", "body")


def test_unknown_matcher_lists_the_valid_ones():
    with pytest.raises(ConfigurationError) as caught:
        parse_match_on("method,bdy")
    assert str(caught.value) == (
        "unknown matcher(s) 'bdy' in match_on; valid matchers: "
        "body, headers, host, method, path, port, query, raw_body, scheme, uri, url"
    )


def test_empty_match_on_is_refused():
    with pytest.raises(ConfigurationError, match="match_on is empty; valid matchers: body, headers"):
        parse_match_on(" , ")


def test_builtin_names_are_vcrpys():
    import vcr

    assert builtin_matcher_names() == sorted(vcr.VCR().matchers)


def test_unknown_vcr_config_key_lists_the_valid_ones():
    with pytest.raises(
        ConfigurationError,
        match=r"vcr_config has unknown key\(s\) 'filter_header'; valid keys: .*filter_headers",
    ):
        replay_vcr({"filter_header": ["authorization"]}, DEFAULT_MATCH_ON)


def test_custom_matcher_functions_are_registered_under_their_name():
    def same_tenant(r1, r2):
        return r1.headers.get("X-Tenant") == r2.headers.get("X-Tenant")

    assert replay_vcr({}, ["method", same_tenant]).matchers["same_tenant"] is same_tenant


@pytest.mark.parametrize(
    ("names", "expected"),
    [
        (("method", "path"), (True, True)),
        (("method", "uri"), (True, True)),
        (("method", "url"), (True, True)),
        (("path", "query"), (False, True)),
        (("method", "body"), (True, False)),
    ],
)
def test_index_fields_follow_vcrpys_matchers(names, expected):
    import vcr

    matchers = [vcr.VCR().matchers[name] for name in names]
    assert index_fields(matchers) == expected


def test_a_custom_matcher_named_path_does_not_key_the_index():
    def path(r1, r2):  # lenient: any path
        return True

    assert index_fields([path]) == (False, False)
