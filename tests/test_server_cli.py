"""``mtaudit serve`` from the command line: flags and settings, the request model as the
OpenAPI document describes it, the real entry point in a subprocess, and connection limits.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import time

import httpx
import jsonschema
import pytest
from conftest import ROOT
from serverutil import Live, make_settings
from test_server import MT_TEXT, _module_cache  # noqa: F401 (a fixture, used by name)

from mtaudit.cliargs import AUDIT_CONFIG_FLAGS
from mtaudit.model import Severity
from mtaudit.server import (
    ApiError,
    RequestConfig,
    add_parser,
    json_bytes,
    openapi_document,
    parse_config,
    parse_request,
    server_config,
    settings_from_args,
)

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
    with proc.stderr:
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


@pytest.mark.usefixtures("_module_cache")
def test_stalled_and_silent_connections_are_closed_after_the_header_timeout():
    settings = make_settings(concurrency=1, header_timeout=1.0, keep_alive_timeout=1.0)
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


def test_serve_declares_the_audit_flags_as_scan_does():
    """One declaration (cliargs.add_audit_arguments): the same types, choices and metavars."""
    from mtaudit.cli import build_parser

    def options(argv0: str) -> dict[str, argparse.Action]:
        sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
        return {a.dest: a for a in sub.choices[argv0]._actions}

    scan, serve = options("scan"), options("serve")
    for dest in AUDIT_CONFIG_FLAGS:
        a, b = scan[dest], serve[dest]
        assert (a.option_strings, a.type, a.choices, a.metavar, a.default) == (
            b.option_strings,
            b.type,
            b.choices,
            b.metavar,
            b.default,
        ), dest
    args = _parse("--isolated", "--lm-reference", "ref.json", "--fail-on-verdict", "Suspect")
    assert args.lm_reference == "ref.json" and args.fail_on_verdict == "suspect"
    with pytest.raises(SystemExit):
        _parse("--fail-on", "fatal")


# Bodies the request schema and the validator must judge alike (schemathesis explores the
# same question at random against the live server; these are the edges, offline).
_BODIES = [
    {"text": "x"},
    {"markdown": "# x", "id": "a" * 256},
    {"html": "<p>x</p>", "config": {}},
    {"text": "x", "config": {"select": ["MT4", "idiom"], "ignore": [], "fail_above": None}},
    {"text": "x", "config": {"min_confidence": 1, "fail_on": "info"}},
    {"text": "x", "config": {"fail_on_verdict": "none"}},
    {},
    {"text": "x", "html": "y"},
    {"text": None},
    {"text": "x", "id": ""},
    {"text": "x", "id": "a" * 257},
    {"text": "x", "config": None},
    {"text": "x", "config": {"select": []}},
    {"text": "x", "config": {"select": ["MT9"]}},
    {"text": "x", "config": {"select": ["MT4"] * 65}},
    {"text": "x", "config": {"min_confidence": True}},
    {"text": "x", "config": {"min_confidence": 1.5}},
    {"text": "x", "config": {"fail_above": "0.5"}},
    {"text": "x", "config": {"fail_on": "fatal"}},
    {"text": "x", "extra": 1},
    {"text": "x", "config": {"colour": 1}},
    [],
]


@pytest.mark.parametrize("body", _BODIES, ids=range(len(_BODIES)))
def test_the_request_schema_is_the_validator(body):
    spec = openapi_document(version="t", auth=False, max_body=1, timeout=1.0)
    schema = {"$ref": "#/components/schemas/AuditRequest", "components": spec["components"]}
    valid = jsonschema.Draft202012Validator(schema).is_valid(body)
    try:
        parse_request(json.dumps(body).encode(), RequestConfig())
        accepted = True
    except ApiError as exc:
        assert exc.status == 400 and exc.code in ("invalid_request", "invalid_config")
        accepted = False
    assert accepted == valid
