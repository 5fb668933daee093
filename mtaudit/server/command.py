"""``mtaudit serve`` on the command line: its flags, its settings, and the server's run.

Light on purpose: the CLI imports this module to register ``serve``, so the web framework,
pydantic and the pipeline load only when a server starts. The audit flags are the scan
command's own declarations (:func:`mtaudit.cliargs.add_audit_arguments`).
"""

from __future__ import annotations

import argparse
import logging
import math
import sys
import time
from typing import Any

from mtaudit import __version__, cachedir
from mtaudit.cliargs import (
    add_audit_arguments,
    add_config_arguments,
    config_flags,
    int_at_least,
)
from mtaudit.server.settings import (
    DEFAULT_HEADER_TIMEOUT,
    DEFAULT_HOST,
    DEFAULT_KEEP_ALIVE_TIMEOUT,
    DEFAULT_MAX_BODY,
    DEFAULT_MAX_CONNECTIONS,
    DEFAULT_PORT,
    DEFAULT_TIMEOUT,
    ServeSettings,
    default_concurrency,
    load_tokens,
)

__all__ = ["add_parser", "cmd_serve", "settings_from_args"]

_log = logging.getLogger("mtaudit.server")
_positive_int = int_at_least(1, "at least 1")
_count = int_at_least(0, "0 or more")


def _port(value: str) -> int:
    n = _count(value)
    if n > 65535:
        raise argparse.ArgumentTypeError(f"not a port number: {n}")
    return n


def _seconds(value: str) -> float:
    try:
        s = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {value!r}") from None
    if not s > 0 or math.isinf(s):
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, got {value}")
    return s


def settings_from_args(args: argparse.Namespace) -> ServeSettings:
    """The service's settings: limits from flags, audit defaults from the layered config.

    The audit defaults are what ``mtaudit scan -`` would use in the working folder: the
    user's file, the project's files, ``--config FILE``, then flags (see
    :mod:`mtaudit.config`). Baselines and review decisions are not applied: they record
    findings of scanned files, and a request is no file.

    Raises:
        ValueError: a bad config file (``path:line: ...``), flag or token file.
    """
    from mtaudit.config import ConfigResolver
    from mtaudit.options import options_from_config

    config = ConfigResolver(args.config, config_flags(args), isolated=args.isolated).for_file(None)
    for key in ("baseline", "decisions"):
        if getattr(config, key, None):
            _log.warning("%s from the configuration is not applied by mtaudit serve", key)
    options = options_from_config(config, known=False)
    tokens: tuple[str, ...] = ()
    if args.token_file:
        try:
            tokens = load_tokens(args.token_file)
        except OSError as exc:
            raise ValueError(f"{args.token_file}: cannot read: {exc.strerror or exc}") from None
    return ServeSettings(
        options=options,
        tokens=tokens,
        max_body=args.max_body,
        timeout=args.timeout,
        concurrency=args.concurrency or default_concurrency(),
        backlog=args.backlog,
        header_timeout=args.header_timeout,
        keep_alive_timeout=args.keep_alive_timeout,
        max_connections=args.max_connections,
    )


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``mtaudit serve`` on the CLI's subparsers."""
    parser = subparsers.add_parser(
        "serve",
        help="run the HTTP check service (POST /v1/audit)",
        description="Serve audits over HTTP for a CMS to call before publishing: "
        "POST /v1/audit, GET /healthz, GET /openapi.json. Models load once at start.",
        epilog="example:\n  mtaudit serve --port 8080 --token-file tokens.txt --fail-on warning\n"
        "  curl -s localhost:8080/v1/audit -H 'Authorization: Bearer TOKEN' \\\n"
        "       -H 'Content-Type: application/json' -d '{\"text\": \"...\"}'",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    net = parser.add_argument_group("network")
    net.add_argument("--host", default=DEFAULT_HOST, help=f"address (default: {DEFAULT_HOST})")
    net.add_argument(
        "--port", type=_port, default=DEFAULT_PORT, help=f"port (default: {DEFAULT_PORT})"
    )
    net.add_argument(
        "--token-file",
        metavar="FILE",
        default=None,
        help="require Authorization: Bearer TOKEN with a token from FILE (one a line); "
        "/healthz and /openapi.json stay open",
    )
    net.add_argument(
        "--log-level",
        choices=("critical", "error", "warning", "info", "debug"),
        default="info",
        help="server log level (default: info, which logs each request)",
    )
    lim = parser.add_argument_group("limits")
    for flag, kind, default, metavar, text in (
        ("--max-body", _positive_int, DEFAULT_MAX_BODY, "BYTES", "largest request body "
         f"(default: {DEFAULT_MAX_BODY}); larger -> 413"),
        ("--timeout", _seconds, DEFAULT_TIMEOUT, "SECONDS", "time budget of a request, "
         f"queueing included (default: {DEFAULT_TIMEOUT:g}); over it -> 503 with Retry-After"),
        ("--header-timeout", _seconds, DEFAULT_HEADER_TIMEOUT, "SECONDS", "close a "
         "connection whose request line and headers have not arrived within SECONDS "
         f"(default: {DEFAULT_HEADER_TIMEOUT:g})"),
        ("--keep-alive-timeout", _seconds, DEFAULT_KEEP_ALIVE_TIMEOUT, "SECONDS", "close an "
         f"idle keep-alive connection after SECONDS (default: {DEFAULT_KEEP_ALIVE_TIMEOUT:g})"),
        ("--max-connections", _positive_int, DEFAULT_MAX_CONNECTIONS, "N", "open connections "
         f"over which requests get 503 at once (default: {DEFAULT_MAX_CONNECTIONS})"),
        ("--concurrency", _positive_int, None, "N", "audits at once, one worker thread and "
         "model copy each (default: CPUs)"),
        ("--backlog", _count, None, "N", "requests that may wait for a worker (default: "
         "4 x concurrency); more -> 503"),
    ):  # fmt: skip
        lim.add_argument(flag, type=kind, default=default, metavar=metavar, help=text)
    aud = parser.add_argument_group(
        "audit defaults (as for 'mtaudit scan -' in this folder; a request's config overrides)"
    )
    add_config_arguments(aud)
    add_audit_arguments(aud, fails="pass=false")
    parser.set_defaults(func=cmd_serve)
    return parser


def cmd_serve(args: argparse.Namespace) -> int:
    """Load the models, then serve until interrupted. Exit 2 on a configuration error."""
    from mtaudit.model import ExitCode

    try:
        import uvicorn

        from mtaudit.server.app import create_app, server_config
        from mtaudit.server.service import AuditService
    except ImportError as exc:
        print(
            f"mtaudit: error: 'mtaudit serve' needs {exc.name}: "
            "pip install starlette uvicorn pydantic anyio",
            file=sys.stderr,
        )
        return ExitCode.USAGE
    from mtaudit.fluency import FluencyUnavailable
    from mtaudit.lexicons import LexiconError

    logging.basicConfig(level=args.log_level.upper(), format="%(levelname)s:  %(message)s")
    # The first start after an install or upgrade builds the caches: say why it is slow.
    cachedir.on_first_build(
        lambda _what: _log.info(
            "building word tables and idiom indexes in %s (once after an install or "
            "upgrade; about half a minute)",
            cachedir.default_cache_dir(),
        )
    )
    try:
        settings = settings_from_args(args)
        service = AuditService(settings)
        started = time.perf_counter()
        service.start()  # a missing LM or a bad lexicon fails here, before listening
    except (ValueError, LexiconError, FluencyUnavailable) as exc:
        print(f"mtaudit: error: {exc}", file=sys.stderr)
        return ExitCode.USAGE
    _log.info(
        "mtaudit %s ready in %.1f s: %d worker(s), %s",
        __version__,
        time.perf_counter() - started,
        settings.concurrency,
        "bearer tokens required" if settings.tokens else "no authorization (--token-file)",
    )
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(service, close_on_shutdown=True),
            host=args.host,
            port=args.port,
            log_level=args.log_level,
            server_header=False,
            timeout_graceful_shutdown=int(math.ceil(settings.timeout)),
            **server_config(settings),
        )
    )
    # On SIGINT/SIGTERM uvicorn finishes in-flight requests, runs the lifespan shutdown
    # (which closes the service), then re-raises the signal: Ctrl-C reaches mtaudit's main
    # as KeyboardInterrupt (exit 130), SIGTERM ends the process as SIGTERM does.
    try:
        server.run()
    except SystemExit:  # uvicorn exits 1 when it cannot bind; 1 means "findings" here
        return ExitCode.USAGE
    finally:
        service.close()
    return ExitCode.OK if server.started else ExitCode.USAGE
