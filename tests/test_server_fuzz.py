"""Fuzz ``mtaudit serve`` from its own OpenAPI document with schemathesis.

The schema is the one the live loopback server serves at ``/openapi.json`` (the first
test proves they are equal); schemathesis generates valid and invalid requests for every
operation, sends them to that server, and runs its checks on each response: no 5xx, status codes, content types, headers and bodies as documented, invalid
requests rejected, valid ones accepted, and the bearer token actually enforced. Bounded
(``MAX_EXAMPLES`` per operation and phase) so it stays well under a minute.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from serverutil import Live, make_settings
from test_server import (
    AUTH,
    TOKEN,
    _module_cache,  # noqa: F401 (a fixture, used by name below)
)

from mtaudit import __version__
from mtaudit.server.openapi import openapi_document

# MTAUDIT_FUZZ_EXAMPLES=500 for a longer, randomised exploration run.
EXPLORE = int(os.environ.get("MTAUDIT_FUZZ_EXAMPLES", "0"))
MAX_EXAMPLES = EXPLORE or 30
MAX_BODY = 32_768  # small: generated giant strings stay cheap (413 is documented)
TIMEOUT = 20.0


@pytest.fixture(scope="module")
def fuzz_server(request: pytest.FixtureRequest) -> Iterator[Live]:
    request.getfixturevalue("_module_cache")  # the translation cache in a temporary folder
    with Live(
        make_settings(tokens=(TOKEN,), concurrency=2, max_body=MAX_BODY, timeout=TIMEOUT)
    ) as srv:
        yield srv


# The document is built here exactly as the server builds it, because schemathesis's lazy
# loader (``schemathesis.pytest.from_fixture``) fails under pytest 9 (it sets the removed
# ``Node._nodeid``); the first test proves the live server serves this very document.
DOCUMENT = openapi_document(version=__version__, auth=True, max_body=MAX_BODY, timeout=TIMEOUT)
schema = schemathesis.openapi.from_dict(DOCUMENT)


def test_the_live_server_serves_the_fuzzed_document(fuzz_server: Live) -> None:
    assert fuzz_server.client.get("/openapi.json").json() == json.loads(json.dumps(DOCUMENT))


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=not EXPLORE,  # the suite runs the same cases every time: no flaky failures
)
def test_api_conforms_to_its_openapi_document(case, fuzz_server: Live) -> None:
    case.call_and_validate(base_url=fuzz_server.url, headers=AUTH)
    assert fuzz_server.health()["counters"]["errors"] == 0
