"""Auditors that share what they load: one per configuration, resources loaded once.

A scan whose folders carry their own configuration files, a ``--jobs`` worker and the
server all need several :class:`~mtaudit.pipeline.Auditor` objects at once. They share
through :class:`SharedResources`: a detector :class:`~mtaudit.detectors.Context` per
detector options (lexicons and language models load once), a back-translation engine per
engine setting and a result cache per folder. :class:`AuditorPool` picks each document's
Auditor by its configuration.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Hashable
from typing import TYPE_CHECKING, Any

from mtaudit.detectors import Context
from mtaudit.model import Document, DocumentReport
from mtaudit.pipeline import AuditOptions, Auditor, make_backtranslator, make_result_cache

if TYPE_CHECKING:
    from mtaudit.backtranslate import BackTranslator
    from mtaudit.resultcache import ResultCache


def context_key(options: AuditOptions) -> str:
    """Auditors with equal detector options can share loaded lexicons and models."""
    return json.dumps(options.detector_options, sort_keys=True, default=str)


class SharedResources:
    """What the Auditors of one process share; :meth:`auditor` builds one that uses it.

    ``contexts`` may start with warm detector contexts (a forked ``--jobs`` worker
    inherits its parent's). :meth:`close` stops the engines and closes the caches it made.
    """

    def __init__(self, contexts: dict[str, Context] | None = None) -> None:
        self.contexts: dict[str, Context] = dict(contexts or {})
        self.engines: dict[tuple[Any, ...], BackTranslator | None] = {}
        self.results: dict[str | None, ResultCache | None] = {}

    def auditor(self, options: AuditOptions) -> Auditor:
        """A new Auditor for ``options`` over the shared context, engine and cache."""
        key = context_key(options)
        if key not in self.contexts:
            self.contexts[key] = Context(dict(options.detector_options))
        engine_key = (options.mt, options.mt_cache_dir, options.back_translate)
        if engine_key not in self.engines:
            self.engines[engine_key] = make_backtranslator(options)
        if options.result_cache_dir not in self.results:
            self.results[options.result_cache_dir] = make_result_cache(options)
        return Auditor(
            options,
            context=self.contexts[key],
            backtranslator=self.engines[engine_key],
            results=self.results[options.result_cache_dir],
        )

    def close(self) -> None:
        for engine in self.engines.values():
            if engine is not None:
                engine.close()
        for results in self.results.values():
            if results is not None:
                results.close()


class AuditorPool:
    """One :class:`Auditor` per distinct configuration, chosen for each document.

    ``key_for(document)`` names a document's configuration (any hashable, e.g. a
    :class:`mtaudit.config.Config`) and ``options_for(key)`` builds its options. Auditors
    with equal detector options share one detector :class:`Context` (lexicons and the LM
    load once) and equal back-translation settings share one engine. The pool offers the
    Auditor methods the scan loop uses, so it can stand in for one.
    """

    def __init__(
        self,
        key_for: Callable[[Document], Hashable],
        options_for: Callable[[Hashable], AuditOptions],
        base_key: Hashable,
    ) -> None:
        self._key_for = key_for
        self._options_for = options_for
        self._auditors: dict[Hashable, Auditor] = {}
        self.shared = SharedResources()
        self.base = self.get(base_key)

    def get(self, key: Hashable) -> Auditor:
        """The Auditor for a configuration key (built, and preloaded, on first use)."""
        auditor = self._auditors.get(key)
        if auditor is None:
            auditor = self.shared.auditor(self._options_for(key))
            if self._auditors:
                auditor.preload()  # the first is preloaded by the caller, before the scan
            self._auditors[key] = auditor
        return auditor

    def for_document(self, document: Document) -> Auditor:
        return self.get(self._key_for(document))

    @property
    def auditors(self) -> list[Auditor]:
        return list(self._auditors.values())

    @property
    def signature(self) -> str:
        return self.base.signature

    def preload(self) -> None:
        self.base.preload()

    def audit(self, document: Document) -> DocumentReport:
        return self.for_document(document).audit(document)

    def cached(self, document: Document) -> DocumentReport | None:
        return self.for_document(document).cached(document)

    def fails(self, report: DocumentReport) -> bool:
        return self.for_document(report.document).fails(report)

    def release_engines(self) -> None:
        """Stop every Auditor's engine processes, caches left open (see Auditor's)."""
        for auditor in self._auditors.values():
            auditor.release_engines()

    def close(self) -> None:
        for auditor in self._auditors.values():
            auditor.close()  # its detectors' engines; the shared ones are closed below
        self.shared.close()

    def __enter__(self) -> AuditorPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
