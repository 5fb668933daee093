"""``mtaudit serve``: a real uvicorn server on loopback, driven over HTTP with httpx.

The servers use the dictionary back-translation engine (no Apertium variability) and a
translation cache in a temporary folder. A test hook in the worker thread makes audits
slow on demand: a document whose id is ``sleep:SECONDS`` sleeps that long first, and one
whose id is ``block`` waits until the test opens the hook's gate (deterministic overload).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import jsonschema
import pytest
from conftest import CORPORA, SCHEMA
from serverutil import Live, make_settings

from mtaudit import indexcache, zipftable
from mtaudit.pipeline import AuditOptions

TOKEN = "s3cret-Token_1"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
MT_TEXT = (CORPORA / "mt-drought-catalonia.txt").read_text(encoding="utf-8")
DOC_VALIDATOR = jsonschema.Draft202012Validator(
    {"$defs": json.loads(SCHEMA.read_text())["$defs"], "$ref": "#/$defs/document"}
)


@pytest.fixture(scope="module")
def _module_cache(tmp_path_factory, _word_table_dir, _index_dir) -> Iterator[None]:
    # conftest's cache fixture is per test; module-scoped servers need their own. The word
    # table and the compiled indexes are the session's, as in the per-test caches: a
    # worker's warm-up finds them built rather than building them (~25 s) in each module.
    old = os.environ.get("MTAUDIT_CACHE_DIR")
    cache = tmp_path_factory.mktemp("server-mt-cache")
    (cache / zipftable.TABLE_DIR).symlink_to(_word_table_dir, target_is_directory=True)
    (cache / indexcache.FOLDER).symlink_to(_index_dir, target_is_directory=True)
    os.environ["MTAUDIT_CACHE_DIR"] = str(cache)
    yield
    if old is None:
        os.environ.pop("MTAUDIT_CACHE_DIR", None)
    else:
        os.environ["MTAUDIT_CACHE_DIR"] = old


@pytest.fixture(scope="module")
def live(_module_cache) -> Iterator[Live]:
    """Two workers, tokens on, a 64 KiB body limit."""
    with Live(make_settings(tokens=(TOKEN, "other-token"), concurrency=2, max_body=65536)) as srv:
        yield srv


@pytest.fixture(scope="module")
def tight(_module_cache) -> Iterator[Live]:
    """One worker, no queue, a 1 s budget: the overload paths."""
    with Live(make_settings(concurrency=1, backlog=0, timeout=1.0)) as srv:
        yield srv


def _post(live: Live, body: dict, headers: dict | None = None) -> httpx.Response:
    return live.client.post("/v1/audit", json=body, headers={**AUTH, **(headers or {})})


def _no_markup(response: httpx.Response) -> None:
    """Every response is JSON, and no byte of it can open a tag or an entity."""
    assert response.headers["content-type"] == "application/json"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert not {"<", ">", "&"} & set(response.text), response.text[:200]
    response.json()


# --- audits ------------------------------------------------------------------------------


def test_audit_returns_the_cli_document_and_the_gate(live):
    r = _post(live, {"text": MT_TEXT, "id": "drought", "config": {"fail_on": "warning"}})
    assert r.status_code == 200, r.text
    _no_markup(r)
    assert r.headers["cache-control"] == "no-store"
    doc = r.json()
    DOC_VALIDATOR.validate(doc)
    assert doc["id"] == "drought" and doc["format"] == "text"
    assert doc["text"] == MT_TEXT and doc["text_length"] == len(MT_TEXT)
    assert doc["findings"] and doc["verdict"] == "machine-translated"
    assert doc["pass"] is False and doc["failed"] is True
    assert "mt:dictionary" in doc["signature"]
    for f in doc["findings"]:
        assert doc["text"][f["start"] : f["end"]] == f["text"]

    # Same text, gate loosened and categories narrowed per request.
    r = _post(
        live,
        {"text": MT_TEXT, "config": {"select": ["calque"], "fail_on": "error"}},
    )
    doc = r.json()
    assert r.status_code == 200 and doc["id"] == "<request>"
    assert doc["findings"] and {f["category"] for f in doc["findings"]} == {"calque"}
    assert doc["pass"] is True

    r = _post(live, {"text": MT_TEXT, "config": {"ignore": ["MT"], "fail_above": 0.01}})
    assert r.json()["findings"] == [] and r.json()["pass"] is False  # probability gate


def test_the_verdict_gate_per_request(live):
    """``fail_on_verdict``: the verdict fails the gate at or above the level asked for."""
    config = {"select": ["calque"], "fail_on": "error"}
    doc = _post(live, {"text": MT_TEXT, "config": config}).json()
    assert doc["verdict"] in ("suspect", "machine-translated") and doc["reasons"]
    assert doc["translated_probability"] >= 0.5
    for level, passes in (("none", True), ("suspect", False), ("translated", False)):
        r = _post(live, {"text": MT_TEXT, "config": {**config, "fail_on_verdict": level}})
        assert r.status_code == 200 and r.json()["pass"] is passes, level
    r = _post(live, {"text": MT_TEXT, "config": {"fail_on_verdict": "maybe"}})
    assert r.status_code == 400 and r.json()["error"] == "invalid_config"
    assert "fail_on_verdict" in r.json()["detail"]


def test_the_same_as_the_cli(live, cli, tmp_path):
    article = tmp_path / "a.txt"
    article.write_text(MT_TEXT, encoding="utf-8")
    res = cli("scan", article, "-f", "json", "--mt", "dictionary", "--fail-on", "warning")
    cli_doc = res.json()["documents"][0]
    doc = _post(live, {"text": MT_TEXT, "config": {"fail_on": "warning"}}).json()
    for key in ("verdict", "mt_probability", "source_language", "text", "failed"):
        assert doc[key] == cli_doc[key], key
    assert [(f["code"], f["start"]) for f in doc["findings"]] == [
        (f["code"], f["start"]) for f in cli_doc["findings"]
    ]


def test_html_and_markdown_inputs(live):
    html = (
        "<html><head><script>alert('x')</script></head><body><article><h1>Water</h1>"
        "<p>The aforementioned sources said the reservoirs are at 20% &amp; falling.</p>"
        "<p>Officials said <b>on Monday</b> that <i>restrictions</i> would follow.</p>"
        "</article></body></html>"
    )
    r = _post(live, {"html": html})
    assert r.status_code == 200, r.text
    _no_markup(r)
    doc = r.json()
    assert doc["format"] == "html" and "alert" not in doc["text"]
    assert "aforementioned sources" in doc["text"] and "&" in doc["text"]
    assert any(f["category"] == "calque" for f in doc["findings"])

    r = _post(live, {"markdown": "# Title\n\nThe **aforementioned sources** said so.\n"})
    assert r.status_code == 200 and r.json()["format"] == "markdown"
    calque = next(f for f in r.json()["findings"] if f["category"] == "calque")
    assert calque["line"] == 3  # of the Markdown source, not of the stripped text


def test_markup_in_text_is_escaped_not_echoed(live):
    evil = '<script>alert("x")</script> & <img src=x onerror=alert(1)>'
    r = _post(live, {"text": evil, "id": "<b>id</b>"})
    assert r.status_code == 200
    _no_markup(r)
    assert r.json()["text"] == evil and r.json()["id"] == "<b>id</b>"

    r = _post(live, {"text": "x", "config": {"select": ["<script>" + "x" * 500]}})
    assert r.status_code == 400
    _no_markup(r)
    assert len(r.json()["detail"]) < 300  # a short excerpt, not the input


def test_lone_surrogates_do_not_break_the_response(live):
    body = b'{"text": "caf\\ud800 au lait. The aforementioned sources said so.", "id": "\\udfff"}'
    r = live.client.post(
        "/v1/audit", content=body, headers={**AUTH, "content-type": "application/json"}
    )
    assert r.status_code == 200, r.text
    assert r.json()["text"].startswith("caf\ufffd au")


# --- health and the API description -----------------------------------------------------


def test_healthz_is_open_and_reports_the_signature(live):
    r = httpx.get(f"{live.url}/healthz")  # no token
    assert r.status_code == 200
    _no_markup(r)
    health = r.json()
    assert health["status"] == "ok" and health["workers"] == 2 and health["auth"] is True
    assert health["signature"].startswith("mtaudit:") and "lexicons:" in health["signature"]
    assert health["defaults"]["fail_on"] == "error"


def test_openapi_document(live):
    r = httpx.get(f"{live.url}/openapi.json")
    assert r.status_code == 200
    _no_markup(r)
    spec = r.json()
    assert spec["openapi"].startswith("3.")
    audit = spec["paths"]["/v1/audit"]["post"]
    assert {"200", "400", "401", "408", "413", "415", "503"} <= set(audit["responses"])
    assert audit["security"] == [{"bearerAuth": []}]
    assert "Retry-After" in audit["responses"]["503"]["headers"]
    assert set(spec["paths"]) == {"/v1/audit", "/healthz", "/openapi.json"}
    # The request schema is the validator's spec: a sample valid request passes it.
    request_schema = {
        "$ref": "#/components/schemas/AuditRequest",
        "components": spec["components"],
    }
    validator = jsonschema.Draft202012Validator(request_schema)
    validator.validate({"text": "x", "config": {"select": ["MT4", "idiom"], "fail_above": None}})
    assert not validator.is_valid({"text": "x", "html": "y"})
    assert not validator.is_valid({"text": "x", "extra": 1})


# --- bad requests ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "code", "needle"),
    [
        (b"{bad", "bad_json", "malformed JSON"),
        (b"", "bad_json", "malformed JSON"),
        (b'{"text": NaN}', "bad_json", "NaN"),
        (b"\xff\xfe{}", "bad_json", "UTF-8"),
        (b"[" * 100_00 + b"]" * 100_00, "bad_json", "malformed JSON"),
        (b'["text"]', "invalid_request", "object"),
        (b"{}", "invalid_request", "exactly one of text, html or markdown"),
        (b'{"text": "a", "html": "b"}', "invalid_request", "exactly one"),
        (b'{"text": 3}', "invalid_request", "text must be a string"),
        (b'{"text": "a", "id": ""}', "invalid_request", "id must be"),
        (b'{"text": "a", "txet": "b"}', "invalid_request", 'unknown key "txet"'),
        (b'{"text": "a", "config": []}', "invalid_config", "config must be an object"),
        (b'{"text": "a", "config": {"fail_on": "fatal"}}', "invalid_config", "config.fail_on"),
        (b'{"text": "a", "config": {"select": ["MT4", "MT9"]}}', "invalid_config", "select[1]"),
        (b'{"text": "a", "config": {"ignore": ["mt4"]}}', "invalid_config", "ignore[0]"),
        (b'{"text": "a", "config": {"select": []}}', "invalid_config", "config.select"),
        (b'{"text": "a", "config": {"min_confidence": 2}}', "invalid_config", "between 0"),
        (b'{"text": "a", "config": {"min_confidence": true}}', "invalid_config", "not boolean"),
        (b'{"text": "a", "config": {"fail_above": "0.5"}}', "invalid_config", "fail_above"),
        (b'{"text": "a", "config": {"colour": 1}}', "invalid_config", 'unknown key "colour"'),
    ],
)
def test_bad_requests_are_400_with_a_clear_message(live, body, code, needle):
    r = live.client.post(
        "/v1/audit", content=body, headers={**AUTH, "content-type": "application/json"}
    )
    assert r.status_code == 400, r.text
    _no_markup(r)
    assert r.json()["error"] == code
    assert needle in r.json()["detail"]


def test_unparseable_html_is_400(live):
    r = _post(live, {"html": '<?xml version="1.0" encoding="utf-8"?><p>x</p>'})
    assert r.status_code == 400 and r.json()["error"] == "unreadable_input"


def test_content_type_route_and_method(live):
    r = live.client.post("/v1/audit", content=b'{"text": "a"}', headers=AUTH)
    assert r.status_code == 415 and r.json()["error"] == "unsupported_media_type"
    r = live.client.post(
        "/v1/audit",
        content=b'{"text": "a"}',
        headers={**AUTH, "content-type": "application/json; charset=latin-1"},
    )
    assert r.status_code == 415
    r = live.client.post(
        "/v1/audit",
        content=b'{"text": "a"}',
        headers={**AUTH, "content-type": "Application/JSON; charset=UTF-8"},
    )
    assert r.status_code == 200
    r = live.client.get("/v1/audit")
    assert r.status_code == 405 and r.headers["allow"] == "POST"
    _no_markup(r)
    r = live.client.get("/<script>")
    assert r.status_code == 404 and r.json()["error"] == "not_found"
    _no_markup(r)


def test_body_limit_by_content_length_and_while_streaming(live):
    before = live.health()["counters"]
    big = json.dumps({"text": "a" * 70_000}).encode()
    r = live.client.post(
        "/v1/audit", content=big, headers={**AUTH, "content-type": "application/json"}
    )
    assert r.status_code == 413 and r.json()["error"] == "payload_too_large"
    assert r.headers["connection"] == "close"

    def chunks() -> Iterator[bytes]:  # no Content-Length: chunked transfer encoding
        yield b'{"text": "'
        for _ in range(200):
            yield b"a" * 1000
        yield b'"}'

    r = live.client.post(
        "/v1/audit", content=chunks(), headers={**AUTH, "content-type": "application/json"}
    )
    assert r.request.headers["transfer-encoding"] == "chunked"
    assert r.status_code == 413, r.text
    _no_markup(r)
    after = live.health()["counters"]
    assert after["too_large"] == before["too_large"] + 2
    assert after["bodies_read"] == before["bodies_read"]

    # Just under the limit is fine.
    ok = json.dumps({"text": "The minister spoke. " * 3000}).encode()
    assert len(ok) < 65536
    r = live.client.post(
        "/v1/audit", content=ok, headers={**AUTH, "content-type": "application/json"}
    )
    assert r.status_code == 200


# --- authorization -----------------------------------------------------------------------


def test_401_without_or_with_a_wrong_token_reads_nothing(live):
    before = live.health()["counters"]
    calls = live.hook.calls
    body = {"text": MT_TEXT}
    for headers in (
        {},
        {"Authorization": "Bearer wrong"},
        {"Authorization": f"Basic {TOKEN}"},
        {"Authorization": f"Bearer {TOKEN}x"},
        {"Authorization": "Bearer"},
        {"Authorization": b"Bearer \xe9t\xe9"},
    ):
        r = live.client.post("/v1/audit", json=body, headers=headers)
        assert r.status_code == 401, headers
        assert r.headers["www-authenticate"].startswith("Bearer")
        assert r.json()["error"] == "unauthorized"
        _no_markup(r)
    # Even a body over the limit gets 401, not 413: nothing is looked at before the token.
    r = live.client.post(
        "/v1/audit", content=b"x" * 100_000, headers={"content-type": "text/plain"}
    )
    assert r.status_code == 401
    after = live.health()["counters"]
    assert after["unauthorized"] == before["unauthorized"] + 7
    assert after["bodies_read"] == before["bodies_read"]
    assert after["audited"] == before["audited"]
    assert live.hook.calls == calls

    r = live.client.post("/v1/audit", json=body, headers={"Authorization": "Bearer other-token"})
    assert r.status_code == 200
    r = live.client.post("/v1/audit", json=body, headers={"Authorization": f"bearer  {TOKEN}"})
    assert r.status_code == 200


def test_no_token_needed_when_auth_is_off(tight):
    r = tight.client.post("/v1/audit", json={"text": "The minister spoke."})
    assert r.status_code == 200
    spec = tight.client.get("/openapi.json").json()
    assert "security" not in spec["paths"]["/v1/audit"]["post"]
    assert "401" not in spec["paths"]["/v1/audit"]["post"]["responses"]


# --- capacity and time -------------------------------------------------------------------


def test_requests_queue_for_a_bounded_number_of_workers(live):
    """Six slow requests on two workers: all answered, never more than two at once."""
    live.hook.max_active = 0
    with ThreadPoolExecutor(6) as pool:
        responses = list(
            pool.map(
                lambda i: _post(
                    live, {"text": f"The minister spoke {i} times.", "id": "sleep:0.3"}
                ),
                range(6),
            )
        )
    assert [r.status_code for r in responses] == [200] * 6
    assert live.hook.max_active == 2
    assert live.health()["busy"] == 0


def test_busy_when_every_worker_is_taken_and_the_queue_is_full(tight):
    tight.hook.gate.clear()
    with ThreadPoolExecutor(1) as pool:
        blocked = pool.submit(tight.client.post, "/v1/audit", json={"text": "a", "id": "block"})
        _wait_for(lambda: tight.health()["busy"] == 1)
        r = httpx.post(f"{tight.url}/v1/audit", json={"text": "b"})
        assert r.status_code == 503 and r.json()["error"] == "busy"
        assert r.headers["retry-after"] == "1"
        _no_markup(r)
        tight.hook.gate.set()
        assert blocked.result().status_code == 200
    assert tight.client.post("/v1/audit", json={"text": "c"}).status_code == 200


def test_time_budget_503_and_the_worker_comes_back(tight):
    tight.hook.gate.clear()
    started = time.monotonic()
    r = tight.client.post("/v1/audit", json={"text": "a", "id": "block"})
    assert r.status_code == 503, r.text
    assert 1.0 <= time.monotonic() - started < 10  # at the 1 s budget; the audit runs on
    assert r.json()["error"] == "timeout" and r.headers["retry-after"] == "1"
    assert "auditing" in r.json()["detail"]
    _no_markup(r)
    health = tight.health()
    assert health["abandoned"] == 1 and health["busy"] == 1
    # The abandoned audit still holds the only worker: the next request is refused...
    assert tight.client.post("/v1/audit", json={"text": "b"}).status_code == 503
    # ...until it finishes; then the worker is back (not leaked).
    tight.hook.gate.set()
    _wait_for(lambda: tight.health()["busy"] == 0)
    assert tight.health()["abandoned"] == 0
    assert tight.client.post("/v1/audit", json={"text": "c"}).status_code == 200


def test_a_request_that_waits_past_its_budget_times_out(_module_cache):
    with Live(make_settings(concurrency=1, backlog=4, timeout=0.5)) as srv:
        with ThreadPoolExecutor(1) as pool:
            first = pool.submit(srv.client.post, "/v1/audit", json={"text": "a", "id": "block"})
            _wait_for(lambda: srv.health()["busy"] == 1)
            queued = srv.client.post("/v1/audit", json={"text": "b"})
            assert "auditing" in first.result().json()["detail"]
        assert queued.status_code == 503 and queued.json()["error"] == "timeout"
        assert "waiting for a worker" in queued.json()["detail"]
        assert srv.health()["queued"] == 0
        srv.hook.gate.set()
        _wait_for(lambda: srv.health()["busy"] == 0)
        assert srv.client.post("/v1/audit", json={"text": "c"}).status_code == 200


def _wait_for(condition, timeout: float = 3.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.01)


def test_healthz_and_responses_say_when_back_translation_fell_back(_module_cache, monkeypatch):
    from mtaudit.backtranslate import EngineError
    from mtaudit.backtranslate.apertium import ApertiumEngine

    def broken(self, texts, src, tgt):  # noqa: ANN001, ANN202
        raise EngineError("no answer from the Apertium pipeline in time")

    monkeypatch.setattr(ApertiumEngine, "available", lambda self: True)
    monkeypatch.setattr(ApertiumEngine, "supports", lambda self, src, tgt: src in ("en", "es"))
    monkeypatch.setattr(ApertiumEngine, "signature", property(lambda self: "apertium:test"))
    with Live(make_settings(concurrency=1, options=AuditOptions(mt="apertium"))) as srv:
        health = srv.health()
        assert health["mt"] == {
            "engine": "apertium",
            "fallback": None,
            "signature": "apertium:test",
        }
        assert health["signature"].endswith("|mt:apertium:test")
        monkeypatch.setattr(ApertiumEngine, "_translate", broken)
        r = srv.client.post("/v1/audit", json={"text": MT_TEXT})
        assert r.status_code == 200
        assert r.json()["signature"].endswith("|mt:apertium:test+fallback:dictionary")
        health = srv.health()
        assert health["mt"]["engine"] == "apertium" and health["mt"]["fallback"] == "dictionary"
        assert health["signature"].endswith("+fallback:dictionary")
        spec = srv.client.get("/openapi.json").json()
        health_schema = {"$ref": "#/components/schemas/Health", "components": spec["components"]}
        jsonschema.Draft202012Validator(health_schema).validate(health)
