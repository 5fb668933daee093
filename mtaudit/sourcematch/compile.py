"""Compiling idiom lexicons into source patterns, and the cached index per language."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from mtaudit import formtable, zipftable
from mtaudit.backtranslate.lexical import ApertiumLexicon, lemma_of, parts
from mtaudit.idiommatch import (
    STOPWORDS,
    TOKEN,
    EnglishIdioms,
    Glossary,
    fold,
    source_tokens,
    zipf_en,
)
from mtaudit.lexicons import Lexicon
from mtaudit.sourcematch.common import (
    _AUX_EN,
    _CONTENT_POS,
    _FUNCTION_WORDS,
    _LIGHT,
    _LIGHT_EN,
    _LONG,
    _PLACEHOLDERS,
    _SOURCE_BREAKS,
    INDEX_VERSION,
    _english_keys,
    _lemma_words,
    _stem_key,
    _unknown_lemmas,
)
from mtaudit.sourcematch.index import (
    SourceIdiomIndex,
)
from mtaudit.sourcematch.units import (
    SourcePattern,
    SourceWord,
    WordInfo,
)

# --- compilation --------------------------------------------------------------------------


def _classify(lang: str, word: str, analyses: Sequence[str]) -> tuple[str, frozenset[str], bool]:
    """(kind, lemmas, light) of one citation-form word."""
    folded = fold(word)
    if folded in _PLACEHOLDERS:
        return "placeholder", frozenset(), False
    if not analyses:
        return "content", frozenset(_unknown_lemmas(folded)), False
    content = [a for a in analyses if a.split("<", 1)[-1].split(">", 1)[0] in _CONTENT_POS]
    function_words = _FUNCTION_WORDS.get(lang, frozenset())
    # A frequent word with a function reading is a function word ("una": det/num/prn, and
    # a form of "unir"; "sobre": preposition, and the noun "envelope").
    frequent_function = len(content) < len(analyses) and zipftable.zipf(word, lang) >= 5.5
    if not content or folded in function_words or frequent_function:
        return "function", frozenset(x for a in analyses for x in _lemma_words(a)), False
    lemmas = frozenset(x for a in content for x in _lemma_words(a))
    light = not lemmas.isdisjoint(_LIGHT.get(lang, frozenset())) and all(
        lemma_of(a) in _LIGHT.get(lang, frozenset()) for a in content if "<vblex>" in a
    )
    return "content", lemmas, light


def compile_index(
    language: str,
    lexicons: Iterable[Lexicon],
    lexicon: ApertiumLexicon,
    glossary: Glossary | None,
    english_idioms: Iterable[str] = (),
) -> SourceIdiomIndex:
    """Compile the ``language`` idioms of ``lexicons`` against the Apertium pair's data."""
    entries: list[dict[str, Any]] = []
    seen: set[str] = set()
    issues: list[str] = []
    for lex in lexicons:
        for entry in lex.entries:
            lang = lex.language or str(entry.get("id", "")).partition(".")[0]
            if lang != language:
                continue
            iid = str(entry.get("id") or f"{lang}.{entry['source']}")
            if iid in seen:
                issues.append(f"{lex.path.name}:{entry.get('_line')}: duplicate idiom id {iid!r}")
                continue
            seen.add(iid)
            entries.append({**entry, "id": iid, "_language": lang})
    tokens_per = [source_tokens(str(e["source"])) for e in entries]
    analyses = lexicon.source_analyses({t for toks in tokens_per for t in toks})
    patterns: list[SourcePattern] = []
    for entry, toks in zip(entries, tokens_per, strict=True):
        words: list[SourceWord] = []
        for k, t in enumerate(toks):
            found = analyses.get(t, ())
            # A reading with an enclitic pronoun ("velas" as ve + las) is far-fetched in a
            # citation form when the word has a plain one (vela, velar).
            plain = tuple(a for a in found if "<enc>" not in a)
            found = plain or found
            previous = analyses.get(toks[k - 1], ()) if k else ()
            if any("<det>" in a or "<vblex><inf>" in a for a in previous):
                # After a determiner, or an infinitive (its object: "dar marcha atrás"), a
                # word is a noun or an adjective ("las velas": sails, not the verb velar;
                # "marcha": not "he marches"), which keeps "watch" or "marched" from
                # standing for it.
                nominal = tuple(a for a in found if a.split("<")[1].startswith(("n>", "adj>")))
                found = nominal or found
            kind, lemmas, light = _classify(language, t, found)
            zipf = zipftable.zipf(t, language) if kind == "content" else 9.0
            stem = _stem_key(fold(t)) if _stem_key(fold(t)) in lemmas else ""
            verb = any("<vblex>" in a for a in found)
            prep = any("<pr>" in a for a in found)
            nominal = bool(found) and all(
                a.split("<")[1].startswith(("n>", "adj>", "np>")) for a in found
            )
            words.append(
                SourceWord(t, lemmas, kind, light, zipf, fold(t), stem, verb, prep, nominal)
            )
        content = [i for i, w in enumerate(words) if w.kind == "content"]
        heavy = [i for i in content if not words[i].light]
        if not content:
            issues.append(f"{entry['id']}: no content word in {entry['source']!r}")
            continue
        if len(heavy) >= 2:
            required, optional = heavy, [i for i in content if i not in heavy]
        else:
            required, optional = content, []
        need = len(required) - 1 if len(required) >= _LONG else len(required)
        patterns.append(
            SourcePattern(
                entry,
                language,
                tuple(words),
                tuple(required),
                tuple(optional),
                need,
                bool(_SOURCE_BREAKS.search(str(entry["source"]))),
            )
        )
    # The inverse of the source-to-English dictionary for the idioms' words: the English
    # words Apertium itself would have chosen for them.
    # Enclitic pronouns are left out: "echarle" is *echar*, and "him" does not stand for it.
    word_parts = {
        t: [p for a in analyses.get(t, ()) for p in parts(a) if "<enc>" not in p]
        for pat in patterns
        for t in (w.surface for w in pat.words)
    }
    to_en = lexicon.to_english({p for v in word_parts.values() for p in v})
    inverse: dict[str, set[str]] = {}
    for pat in patterns:
        for w in pat.words:
            for a in word_parts.get(w.surface, ()):
                own = _lemma_words(a) & w.lemmas  # this part's lemma ("de" of "del")
                if not own:
                    continue
                for t in to_en.get(a, ()):
                    # Function words only as prepositions for prepositions ("on" for
                    # *sobre*): their other translations ("the" for *a*) are everywhere.
                    if w.kind == "function" and not ("<pr>" in a and "<pr>" in t):
                        continue
                    for e in _english_keys(lemma_of(t)):
                        inverse.setdefault(e, set()).update(own)
    # The glossary, inverted: English word -> source keys (other MT systems' synonyms), for
    # the idioms' content words only: its function-word entries ("a": to, at) would make
    # every "the" and "of" stand for something.
    # Very common English words ("be", "give") are left out too: the glossary lists them
    # for many verbs, and Apertium's own dictionary covers them.
    content_lemmas = {x for p in patterns for w in p.words if w.kind == "content" for x in w.lemmas}
    if glossary is not None:
        for key, values in glossary.words.items():
            if fold(key) not in content_lemmas:
                continue
            for v in values:
                for e in _english_keys(v):
                    if e not in _LIGHT_EN and e not in _AUX_EN and zipf_en(e) < 6.0:
                        inverse.setdefault(e, set()).add(fold(key))
    return _assemble(language, lexicon, patterns, inverse, english_idioms, issues)


def _assemble(
    language: str,
    lexicon: ApertiumLexicon,
    patterns: list[SourcePattern],
    inverse: dict[str, set[str]],
    english_idioms: Iterable[str],
    issues: list[str],
) -> SourceIdiomIndex:
    # Trigger index: a pattern is evaluated only when one of its rarest required words is
    # there (enough of them that a pattern allowed to miss one is still triggered).
    trigger: dict[str, list[int]] = {}
    for pi, p in enumerate(patterns):
        req = sorted(p.required, key=lambda i: p.words[i].zipf)
        for wi in req[: len(p.required) - p.need + 1]:
            for lemma in p.words[wi].lemmas:
                trigger.setdefault(lemma, []).append(pi)
    # Every idiom's English equivalents of two content words or more: where one of them is,
    # the English is idiomatic, whatever it projects onto.
    equivalents = {
        str(e)
        for p in patterns
        for e in (p.idiom.get("english") or [])
        if sum(1 for w in TOKEN.findall(str(e).lower()) if w not in STOPWORDS) >= 2
    }
    return SourceIdiomIndex(
        language,
        lexicon,
        patterns,
        trigger,
        {k: frozenset(v) for k, v in inverse.items()},
        EnglishIdioms(english_idioms),
        EnglishIdioms(sorted(equivalents)),
        issues,
    )


def build_source_index(
    language: str,
    idiom_files: Iterable[Path | str] = (),
    glossary_files: Iterable[Path | str] = (),
    english_files: Iterable[Path | str] = (),
) -> SourceIdiomIndex | None:
    """The compiled index for ``language``, or None when its Apertium pair is not installed.

    Compiled once per lexicon and Apertium data version and cached on disk
    (:mod:`mtaudit.indexcache`); the Apertium processes
    the scan uses are started at once, in the background.
    """
    from mtaudit import idiommatch as idiommatch_module
    from mtaudit import indexcache, lemmacache
    from mtaudit.backtranslate import lexical as lexical_module
    from mtaudit.backtranslate.lexical import pair_files
    from mtaudit.idiommatch import (
        LEXICON_DIR,
        builtin_glossaries,
        builtin_idiom_lexicons,
        load_english_idioms,
        load_glossary,
        merge_glossary,
    )
    from mtaudit.lexicons import load_file

    files = pair_files(language)
    if files is None:
        return None
    idiom_files, glossary_files, english_files = (
        [Path(p) for p in idiom_files],
        [Path(p) for p in glossary_files],
        [Path(p) for p in english_files],
    )
    inputs = [
        *sorted(LEXICON_DIR.glob("idioms-*.toml")),
        *sorted(LEXICON_DIR.glob("glossary-*.toml")),
        LEXICON_DIR / "english-idioms.toml",
        # the compiler and what it builds on (every module of both packages)
        *sorted(Path(__file__).parent.glob("*.py")),
        *sorted(Path(idiommatch_module.__file__).parent.glob("*.py")),
        Path(lexical_module.__file__),
        *idiom_files,
        *glossary_files,
        *english_files,
    ]
    lexicon = ApertiumLexicon(language, files)
    # Its lt-proc stages load their transducers while the index unpickles (or compiles).
    lexicon.start()
    key = indexcache.digest(
        f"source{language}",
        inputs,
        # lemminflect gives the English base forms (see idiommatch.english), wordfreq the
        # words' rarity.
        [f"v{INDEX_VERSION}", lexicon.signature, lemmacache.signature(), zipftable.signature()],
    )

    def build() -> SourceIdiomIndex:
        lexicons = builtin_idiom_lexicons() + [load_file(p, "idiom") for p in idiom_files]
        glossaries = builtin_glossaries()
        for p in glossary_files:
            merge_glossary(glossaries, load_glossary(p))
        return compile_index(
            language,
            lexicons,
            lexicon,
            glossaries.get(language),
            load_english_idioms(english_files),
        )

    try:
        index = indexcache.cached(key, build)
    except BaseException:
        # A malformed user lexicon (or an interrupt): the stages started above would
        # otherwise outlive the scan that stops here.
        lexicon.close()
        raise
    if index.lexicon is not lexicon:
        # The cached index brought its own (process-less) lexicon, with the analyses
        # cached at compile time: it takes over the processes started above.
        index.lexicon.adopt(lexicon)
    if not (idiom_files or glossary_files or english_files):
        index.table = formtable.attach(
            indexcache.cache_dir(), key, lambda forms: _project_all(index, forms)
        )
    return index


def _project_all(index: SourceIdiomIndex, forms: list[str]) -> list[tuple[str, WordInfo]]:
    """``forms`` projected as a scan projects them (:mod:`mtaudit.formtable`'s answers),
    through a lexicon of their own, so that the scan's lexicon and word caches do not keep
    the ~100,000 answers in memory."""
    lexicon = ApertiumLexicon(index.lexicon.lang, index.lexicon.files)
    builder = dataclasses.replace(index, lexicon=lexicon, lm=None, _words={}, table=None)
    try:
        return list(builder.words(forms).items())
    finally:
        lexicon.close()
