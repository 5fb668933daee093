"""The engine's options: what to detect and how strict the gate is, from a configuration.

:func:`options_from_config` is the one translation of an effective
:class:`~mtaudit.config.Config` into :class:`AuditOptions`; the scan command and the
server both call it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mtaudit.config import Config, ConfigError
from mtaudit.known.baseline import KnownFindings
from mtaudit.model import DEFAULT_FAIL_ON_VERDICT, Severity, parse_fail_on_verdict


@dataclass
class AuditOptions:
    """What to detect and how strict the gate is."""

    select: tuple[str, ...] = ("MT",)
    ignore: tuple[str, ...] = ()
    min_confidence: float = 0.0
    fail_on: Severity = Severity.ERROR
    fail_above: float | None = None
    detector_options: dict[str, Any] = field(default_factory=dict)
    #: back-translation engine spec (auto, dictionary, apertium, marian[:PATH]); None = off
    mt: str | None = None
    #: finding categories to back-translate (None: idiom, calque and untranslated)
    back_translate: tuple[str, ...] | None = None
    #: translation cache folder; default $MTAUDIT_CACHE_DIR or ~/.cache/mtaudit
    mt_cache_dir: str | None = None
    #: decisions from ``mtaudit review`` (fingerprint -> record); dismissed findings are
    #: dropped, edited suggestions replace the detector's
    decisions: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: per-code severity overrides: (code prefix, severity); the most specific prefix wins
    severity: tuple[tuple[str, Severity], ...] = ()
    #: a baseline and/or decisions (takes precedence over ``decisions`` when given)
    known: KnownFindings | None = None
    #: honour ``<!-- mtaudit: ... -->`` comments (inline suppressions)
    inline_suppressions: bool = True
    #: fail the gate on a verdict at or above this one (None: never on the verdict)
    fail_on_verdict: str | None = DEFAULT_FAIL_ON_VERDICT
    #: statistical model: "default" (cheap features) or "deep" (adds neural-LM features)
    model: str = "default"
    #: result cache folder (see :mod:`mtaudit.resultcache`): a document audited before
    #: with the same options and models is not audited again. None: no result cache.
    result_cache_dir: str | None = None


def options_from_config(
    config: Config,
    mt_cache: str | None = None,
    known_cache: dict[tuple[str | None, str | None], KnownFindings] | None = None,
    result_cache: str | None = None,
    *,
    known: bool = True,
) -> AuditOptions:
    """AuditOptions for an effective Config; baseline/decisions files load once per
    ``known_cache`` (ConfigError, naming the file, when one cannot be read).

    ``known=False`` leaves baselines and review decisions out (the server: they record
    findings of scanned files, and a request is no file).
    """
    return AuditOptions(
        known=_known_findings(config, known_cache) if known else None,
        select=config.select,
        ignore=config.ignore,
        min_confidence=config.min_confidence,
        fail_on=Severity.parse(config.fail_on),
        fail_above=config.fail_above,
        fail_on_verdict=parse_fail_on_verdict(config.fail_on_verdict),
        model=config.model,
        detector_options=config.detector_options(),
        mt=None if config.mt == "off" else config.mt,
        back_translate=config.back_translate,
        mt_cache_dir=mt_cache,
        severity=tuple((p, Severity.parse(s)) for p, s in config.severity),
        result_cache_dir=result_cache,
    )


def _known_findings(
    config: Config, cache: dict[tuple[str | None, str | None], KnownFindings] | None
) -> KnownFindings:
    from mtaudit.known.baseline import load_known
    from mtaudit.known.decisions import DEFAULT_DECISIONS

    cache = {} if cache is None else cache
    decisions = config.decisions
    if decisions is None and DEFAULT_DECISIONS.exists():
        decisions = str(DEFAULT_DECISIONS)
    key = (config.baseline, decisions)
    if key not in cache:
        try:
            cache[key] = load_known(config.baseline, decisions)
        except ValueError as exc:  # the message names the file
            raise ConfigError("", None, str(exc)) from None
    return cache[key]
