from mtaudit.segment import segment, split_paragraphs, split_sentences, words


def _sentences(text: str) -> list[str]:
    return [s.text(text) for s in split_sentences(text)]


def test_sentence_offsets_index_the_text():
    text = "First one. Second one!  Third?\nFourth."
    for span in split_sentences(text):
        assert text[span.start : span.end] == span.text(text)
        assert not span.text(text)[0].isspace() and not span.text(text)[-1].isspace()


def test_abbreviations_and_initials_do_not_end_sentences():
    text = "Mr. Smith met Dr. Jones at 5 p.m. on Friday. J. R. Ewing arrived later. The U.S. Senate voted."
    assert _sentences(text) == [
        "Mr. Smith met Dr. Jones at 5 p.m. on Friday.",
        "J. R. Ewing arrived later.",
        "The U.S. Senate voted.",
    ]


def test_decimals_do_not_end_sentences():
    assert _sentences("Inflation rose 3.5 percent. Rates held at 4.25.") == [
        "Inflation rose 3.5 percent.",
        "Rates held at 4.25.",
    ]


def test_closing_quotes_stay_with_their_sentence():
    text = '"We will not accept it." She left. "Why?" he asked. “It is over.” Then silence.'
    assert _sentences(text) == [
        '"We will not accept it."',
        "She left.",
        '"Why?" he asked.',
        "“It is over.”",
        "Then silence.",
    ]


def test_paragraphs_split_on_blank_lines_or_newlines():
    text = "Title\n\nPara one line one\nline two.\n\n  \nPara two."
    assert [p.text(text) for p in split_paragraphs(text)] == [
        "Title",
        "Para one line one\nline two.",
        "Para two.",
    ]
    # Without blank lines (trafilatura output), each line is a paragraph.
    assert len(split_paragraphs("One.\nTwo.\nThree.")) == 3


def test_sentences_never_cross_paragraphs_and_lookup_works():
    text = "Alpha beta. Gamma\n\nDelta epsilon."
    seg = segment(text)
    assert [s.text(text) for s in seg.sentences] == ["Alpha beta.", "Gamma", "Delta epsilon."]
    at = text.index("epsilon")
    assert seg.sentence_at(at).text(text) == "Delta epsilon."
    assert seg.paragraph_at(at).text(text) == "Delta epsilon."


def test_words_keep_inner_apostrophes_and_hyphens():
    text = "NATO's well-known d'Hondt rule, 3.5"
    assert [w.text(text) for w in words(text)] == [
        "NATO's",
        "well-known",
        "d'Hondt",
        "rule",
        "3",
        "5",
    ]


def test_empty_text():
    seg = segment("")
    assert seg.paragraphs == [] and seg.sentences == []
