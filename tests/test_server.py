"""``mtaudit serve``: a real uvicorn server on loopback, driven over HTTP with httpx.

The servers use the dictionary back-translation engine (no Apertium variability) and a
translation cache in a temporary folder. A test hook in the worker thread makes audits
slow on demand: a document whose id is ``sleep:SECONDS`` sleeps that long first, and one
whose id is ``block`` waits until the test opens the hook's gate (deterministic overload).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import jsonschema
import pytest
from conftest import CORPORA, ROOT, SCHEMA
from serverutil import BackgroundServer

from mtaudit import zipftable
from mtaudit.model import Document, Severity
from mtaudit.pipeline import AuditOptions
from mtaudit.server import (
    AuditService,
    RequestConfig,
    ServeSettings,
    add_parser,
    create_app,
    json_bytes,
    parse_config,
    server_config,
    settings_from_args,
)

TOKEN = "s3cret-Token_1"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
MT_TEXT = (CORPORA / "mt-drought-catalonia.txt").read_text(encoding="utf-8")
DOC_VALIDATOR = jsonschema.Draft202012Validator(
    {"$defs": json.loads(SCHEMA.read_text())["$defs"], "$ref": "#/$defs/document"}
)


class Hook:
    """Counts audits and the most that ran at once; ``sleep:S`` and ``block`` documents wait."""

    def __init__(self) -> None:
        self.calls = 0
        self.active = 0
        self.max_active = 0
        self.gate = threading.Event()
        self._lock = threading.Lock()

    def __call__(self, document: Document) -> None:
        with self._lock:
            self.calls += 1
            self.active += 1
            self.max_active = max(self.max_active, self.active)
        try:
            if document.id.startswith("sleep:"):
                time.sleep(float(document.id.split(":", 1)[1]))
            elif document.id == "block":
                assert self.gate.wait(timeout=20), "the test never opened the gate"
        finally:
            with self._lock:
                self.active -= 1


class Live:
    """A started service behind a real server, with its hook and an httpx client."""

    def __init__(self, settings: ServeSettings) -> None:
        self.hook = Hook()
        self.service = AuditService(settings, before_audit=self.hook)

    def __enter__(self) -> Live:
        self.service.start()
        self.server = BackgroundServer(create_app(self.service)).__enter__()
        self.url = self.server.url
        self.client = httpx.Client(base_url=self.url, timeout=30)
        return self

    def __exit__(self, *exc: object) -> None:
        self.client.close()
        self.server.__exit__()
        self.service.close()

    def health(self) -> dict:
        return self.client.get("/healthz").json()


def _settings(**kw) -> ServeSettings:
    options = kw.pop("options", AuditOptions(mt="dictionary"))
    return ServeSettings(options=options, **kw)


@pytest.fixture(scope="module")
def _module_cache(tmp_path_factory, _word_table_dir) -> Iterator[None]:
    # conftest's cache fixture is per test; module-scoped servers need their own. The word
    # table is the session's, as in the per-test caches: a worker's warm-up builds it once,
    # at start, rather than a first request under its time budget.
    old = os.environ.get("MTAUDIT_CACHE_DIR")
    cache = tmp_path_factory.mktemp("server-mt-cache")
    (cache / zipftable.TABLE_DIR).symlink_to(_word_table_dir, target_is_directory=True)
    os.environ["MTAUDIT_CACHE_DIR"] = str(cache)
    yield
    if old is None:
        os.environ.pop("MTAUDIT_CACHE_DIR", None)
    else:
        os.environ["MTAUDIT_CACHE_DIR"] = old


@pytest.fixture(scope="module")
def live(_module_cache) -> Iterator[Live]:
    """Two workers, tokens on, a 64 KiB body limit."""
    with Live(_settings(tokens=(TOKEN, "other-token"), concurrency=2, max_body=65536)) as srv:
        yield srv


@pytest.fixture(scope="module")
def tight(_module_cache) -> Iterator[Live]:
    """One worker, no queue, a 1 s budget: the overload paths."""
    with Live(_settings(concurrency=1, backlog=0, timeout=1.0)) as srv:
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
    with Live(_settings(concurrency=1, backlog=4, timeout=0.5)) as srv:
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


# --- configuration and the command line --------------------------------------------------


def _parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="mtaudit")
    add_parser(parser.add_subparsers(dest="command"))
    return parser.parse_args(["serve", *argv])


def test_settings_from_flags_and_the_layered_config(tmp_path):
    conf = tmp_path / "pyproject.toml"
    conf.write_text(
        '[tool.mtaudit]\nselect = ["idiom", "calque"]\nfail_on = "warning"\n'
        'min_confidence = 0.3\nmt = "off"\n[tool.mtaudit.severity]\nMT201 = "error"\n',
        encoding="utf-8",
    )
    tokens = tmp_path / "tokens"
    tokens.write_text("# CMS\nabc.DEF-123\n\nsecond+token==\n", encoding="utf-8")
    s = settings_from_args(
        _parse(
            "--isolated", "--config", str(conf), "--fail-on", "info", "--token-file", str(tokens)
        )
    )
    assert s.options.select == ("MT1", "MT2") and s.options.min_confidence == 0.3
    assert s.options.fail_on.label == "info"  # the flag beats the file
    assert s.options.severity == (("MT201", Severity.ERROR),)
    assert s.options.mt is None and s.tokens == ("abc.DEF-123", "second+token==")
    s = settings_from_args(_parse("--isolated", "--concurrency", "3", "--mt", "dictionary"))
    assert s.concurrency == 3 and s.backlog == 12 and s.options.mt == "dictionary"
    assert s.options.select == ("MT",) and s.options.fail_on == Severity.ERROR
    assert s.options.fail_on_verdict == "machine-translated" and s.options.model == "default"
    s = settings_from_args(_parse("--isolated", "--fail-on-verdict", "none"))
    assert s.options.fail_on_verdict is None
    assert RequestConfig.from_options(s.options).as_dict()["fail_on_verdict"] == "none"

    tokens.write_text("has space\n", encoding="utf-8")
    with pytest.raises(ValueError, match="not a bearer token"):
        settings_from_args(_parse("--isolated", "--token-file", str(tokens)))
    conf.write_text("[tool.mtaudit]\nfail_on = 3\n", encoding="utf-8")
    with pytest.raises(ValueError, match="pyproject.toml:2"):
        settings_from_args(_parse("--isolated", "--config", str(conf)))
    with pytest.raises(ValueError, match="--select"):
        settings_from_args(_parse("--isolated", "--select", "bogus"))
    with pytest.raises(SystemExit):
        _parse("--timeout", "0")


def test_parse_config_merges_over_the_defaults():
    base = RequestConfig(select=("MT1",), fail_above=0.5)
    cfg = parse_config({"ignore": ["MT101"], "fail_above": None}, base)
    assert cfg.select == ("MT1",) and cfg.ignore == ("MT101",) and cfg.fail_above is None
    assert parse_config({"select": ["MT4", "idiom"]}, base).select == ("MT4", "MT1")
    for bad in (["Idiom"], ["mt4"], ["MT9"], ["MT1011"]):  # as `mtaudit rules` spells them
        with pytest.raises(ValueError, match="select"):
            parse_config({"select": bad}, base)


def test_json_bytes_escapes_markup_and_drops_nan():
    out = json_bytes({"a": "<b>&\u2028", "n": float("nan")})
    assert b"<" not in out and b"&" not in out
    assert json.loads(out) == {"a": "<b>&\u2028", "n": None}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_cmd_serve_runs_a_server_and_stops_on_a_signal():
    """The real entry point, in a subprocess: loads, listens, answers, shuts down cleanly."""
    port = _free_port()
    code = (
        "import argparse, sys\n"
        "from mtaudit.server import add_parser, cmd_serve\n"
        "p = argparse.ArgumentParser(); add_parser(p.add_subparsers())\n"
        "try:\n"
        "    sys.exit(cmd_serve(p.parse_args(['serve'] + sys.argv[1:])))\n"
        "except KeyboardInterrupt:\n"  # as mtaudit.cli.main does
        "    sys.exit(130)\n"
    )
    env = dict(os.environ)  # conftest's private cache, with the session's word table
    args = ["--port", str(port), "--concurrency", "1", "--mt", "off", "--isolated"]
    args += ["--header-timeout", "1"]
    proc = subprocess.Popen(
        [sys.executable, "-c", code, *args], cwd=ROOT, env=env, stderr=subprocess.PIPE
    )
    try:
        # Generous: a cold start builds the lexicon indexes, slow on a loaded machine.
        deadline = time.monotonic() + 120
        while True:
            try:
                r = httpx.get(f"http://127.0.0.1:{port}/healthz")
                break
            except httpx.ConnectError:
                assert proc.poll() is None, proc.stderr.read().decode()
                assert time.monotonic() < deadline
                time.sleep(0.1)
        assert r.json()["status"] == "ok" and "mt:" not in r.json()["signature"]
        r = httpx.post(f"http://127.0.0.1:{port}/v1/audit", json={"text": MT_TEXT})
        assert r.status_code == 200 and r.json()["findings"]
        with socket.create_connection(("127.0.0.1", port)) as stalled:
            stalled.sendall(b"POST /v1/")  # --header-timeout reaches the real server
            assert _closed_by_server(stalled, 30)
    finally:
        proc.send_signal(signal.SIGINT)
        code_ = proc.wait(timeout=15)
    log = proc.stderr.read().decode()
    assert code_ == 130, log
    assert "1 worker(s)" in log and "Application shutdown complete" in log
    assert "Traceback" not in log

    # A configuration error exits 2 before listening.
    bad = subprocess.run(
        [sys.executable, "-c", code, "--select", "bogus"], cwd=ROOT, env=env, capture_output=True
    )
    assert bad.returncode == 2 and b"--select" in bad.stderr


def _closed_by_server(sock: socket.socket, within: float) -> bool:
    """Whether the server closes ``sock`` (EOF or reset) before ``within`` seconds pass."""
    sock.settimeout(within)
    try:
        while True:
            data = sock.recv(4096)
            if not data:
                return True
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False


def test_stalled_and_silent_connections_are_closed_after_the_header_timeout(_module_cache):
    settings = _settings(concurrency=1, header_timeout=1.0, keep_alive_timeout=1.0)
    with Live(settings) as srv:
        stalled = []
        for n in range(20):
            sock = socket.create_connection((srv.server.host, srv.server.port))
            if n % 2:  # half send part of a request line and stop; half send nothing
                sock.sendall(b"POST /v1/au")
            stalled.append(sock)
        # A well-behaved client is served while they hang on.
        assert srv.client.get("/healthz").status_code == 200
        try:
            # Generous bound: only that the server closes them, not how fast.
            assert all(_closed_by_server(s, 30) for s in stalled)
        finally:
            for sock in stalled:
                sock.close()
        # On a kept-alive connection, a next request that stalls in its headers as well.
        with socket.create_connection((srv.server.host, srv.server.port)) as sock:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            assert b"200 OK" in sock.recv(65536)
            sock.sendall(b"GET /heal")
            assert _closed_by_server(sock, 30)


def test_connection_limits_come_from_the_flags():
    s = settings_from_args(
        _parse(
            "--isolated",
            "--header-timeout",
            "2.5",
            "--keep-alive-timeout",
            "3",
            "--max-connections",
            "50",
        )
    )
    assert (s.header_timeout, s.keep_alive_timeout, s.max_connections) == (2.5, 3.0, 50)
    config = server_config(s)
    assert config["timeout_keep_alive"] == 3.0 and config["limit_concurrency"] == 50
    assert config["h11_max_incomplete_event_size"] == 16 * 1024
    defaults = settings_from_args(_parse("--isolated"))
    assert (defaults.header_timeout, defaults.keep_alive_timeout) == (10.0, 5.0)
    with pytest.raises(SystemExit):
        _parse("--header-timeout", "0")


def test_healthz_and_responses_say_when_back_translation_fell_back(_module_cache, monkeypatch):
    from mtaudit.backtranslate import EngineError
    from mtaudit.backtranslate.apertium import ApertiumEngine

    def broken(self, texts, src, tgt):  # noqa: ANN001, ANN202
        raise EngineError("no answer from the Apertium pipeline in time")

    monkeypatch.setattr(ApertiumEngine, "available", lambda self: True)
    monkeypatch.setattr(ApertiumEngine, "supports", lambda self, src, tgt: src in ("en", "es"))
    monkeypatch.setattr(ApertiumEngine, "signature", property(lambda self: "apertium:test"))
    with Live(_settings(concurrency=1, options=AuditOptions(mt="apertium"))) as srv:
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


def test_bounded_load_with_stalled_connections():
    """A small version of the bench's load check (bench/bench_server.py load()): under
    concurrent requests with connections stalled in their headers, every request gets a
    200 or a 503 with Retry-After, and the server closes every stalled connection."""
    import tempfile
    from concurrent.futures import ThreadPoolExecutor

    sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(__file__)), "bench"))
    import bench_server

    texts = bench_server.articles(40, words=60)
    extra = ["--header-timeout", "1", "--concurrency", "1"]
    with (
        tempfile.TemporaryDirectory() as cache,
        bench_server.Server(None, "off", cache, extra) as server,
    ):
        socks, opened = bench_server.stall(server.port, 20)
        from concurrent.futures import ThreadPoolExecutor

        import httpx

        with httpx.Client(base_url=server.url, timeout=120) as client:

            def one(text: str) -> tuple[int, str | None]:
                r = client.post("/v1/audit", json={"text": text})
                return r.status_code, r.headers.get("retry-after")

            with ThreadPoolExecutor(8) as pool:
                answers = list(pool.map(one, texts))
        closed = bench_server.wait_closed(socks, opened, deadline_s=60)
    assert all(code == 200 or (code == 503 and retry) for code, retry in answers), answers
    assert any(code == 200 for code, _ in answers)
    assert None not in closed  # every stalled connection was closed by the server
