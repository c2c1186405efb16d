"""Text analysis shared by every assistance module: normalise, tokenize, stem, drop stop words, n-grams.

Only the parts of nltk that need no downloaded data are used (the machines are offline): a regular-expression
tokenizer, the Snowball stemmer and ``ngrams``. The stop-word list ships with the package.
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from collections.abc import Iterable
from functools import lru_cache
from importlib.resources import files

from nltk.stem.snowball import SnowballStemmer
from nltk.tokenize import RegexpTokenizer
from nltk.util import ngrams

# Words are runs of letters, optionally joined by apostrophes ("don't"), or runs of digits.
_TOKENIZER = RegexpTokenizer(r"[^\W\d_]+(?:'[^\W\d_]+)*|\d+")
_STEMMER = SnowballStemmer("english")
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "`": "'"})


def _load_stopwords() -> frozenset[str]:
    text = files("coding").joinpath("data/stopwords_en.txt").read_text(encoding="utf-8")
    return frozenset(
        line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")
    )


STOPWORDS: frozenset[str] = _load_stopwords()


def normalize(text: str) -> str:
    """Return ``text`` in NFKC form, case-folded, with typographic apostrophes made plain."""
    return unicodedata.normalize("NFKC", text).translate(_APOSTROPHES).casefold()


def spans(text: str) -> list[tuple[int, int]]:
    """Return the (start, end) character offsets of the words of ``text``.

    Offsets index the original text: NFKC and case folding can change lengths, so the tokenizer runs on
    the text with apostrophes made plain (a one-for-one replacement) and each word is folded on its own.
    """
    return list(_TOKENIZER.span_tokenize(text.translate(_APOSTROPHES)))


@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    """Return the Snowball stem of one normalised word."""
    return str(_STEMMER.stem(word))


def words(text: str) -> list[tuple[str, str]]:
    """Return (stem, surface word) pairs for the words of ``text`` that are not stop words."""
    pairs = []
    for token in _TOKENIZER.tokenize(normalize(text)):
        if token not in STOPWORDS:
            pairs.append((stem(token), token))
    return pairs


def stems(text: str) -> list[str]:
    """Return the stems of the non-stop words of ``text``, in order."""
    return [s for s, _ in words(text)]


def analyze(text: str) -> list[str]:
    """Return the features of ``text``: stems and bigrams of stems ("peer support")."""
    unigrams = stems(text)
    return unigrams + [" ".join(pair) for pair in ngrams(unigrams, 2)]


def surface_forms(texts: Iterable[str]) -> dict[str, str]:
    """Map each stem to its most frequent surface word in ``texts`` (ties: the first seen)."""
    counts: dict[str, Counter[str]] = {}
    for text in texts:
        for s, w in words(text):
            counts.setdefault(s, Counter())[w] += 1
    return {s: c.most_common(1)[0][0] for s, c in counts.items()}


def feature_surface(feature: str, forms: dict[str, str]) -> str:
    """Spell a feature (a stem or a bigram of stems) with surface words where they are known."""
    return " ".join(forms.get(part, part) for part in feature.split(" "))
