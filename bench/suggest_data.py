"""Multi-coder data sets for ``bench/suggest.py --quality``: two public ones read from bench/data/, one generated.

Each loader returns a ``Dataset``: unit texts, per-coder code sets (an empty set: the coder read the unit
and applied no code) and a small codebook (path, definition, example) written from the data set's own
annotation guidelines, for the codebook matcher.

The public data are not in the repository (bench/data/ is ignored by git); get them with:

    git clone https://github.com/amandacurry/convabuse bench/data/convabuse-repo        # CC BY 4.0
    cp bench/data/convabuse-repo/1_full/ConvAbuseEMNLPfull.csv bench/data/convabuse/
    git clone https://github.com/Le-Wi-Di/le-wi-di.github.io bench/data/lewidi-repo
    cp bench/data/lewidi-repo/LeWiDi_2-2023/HS-Brexit_dataset/HS-Brexit_*.json bench/data/hs-brexit/

* **ConvAbuse** (Cercas Curry, Abercrombie & Rieser, EMNLP 2021; CC BY 4.0): 4,185 user turns of
  conversations with two chat bots, each labelled by 2-7 of 8 annotators (rotating): abuse level, and for
  abusive turns its type, target and directness. A unit is one (conversation, turn); its text is the user's
  turn; "not abusive" is no code. An annotator's repeat labelling of a turn (kept in the file to measure
  intra-annotator agreement) is left out: their first one counts.
* **HS-Brexit** (Akhtar, Basile & Patti 2021, in Le-Wi-Di 2023; the repository states no licence, so it stays
  out of ours): 1,120 tweets on Brexit, each labelled by the same 6 annotators for hate speech, aggressiveness
  and offensiveness (three codes; most tweets get none).
* **generated**: answers built from a 40-code, two-level codebook with overlapping vocabularies, a third of
  the answers about nothing in it, and coder errors that are *correlated*: on a hard unit every coder tends
  to make the same confusion (a sibling code for the right one), as real coders share misreadings.
"""

from __future__ import annotations

import csv
import json
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

DATA = Path(__file__).parent / "data"


@dataclass
class Dataset:
    """Texts, code sets per unit and coder, and a codebook of (path, definition, example)."""

    name: str
    units: dict[str, str]
    codings: dict[str, dict[str, frozenset[str]]]
    codebook: list[tuple[str, str, str]] = field(default_factory=list)
    source: str = ""


class Missing(Exception):
    """A public data set is not under bench/data/: the message says how to get it."""


CONVABUSE_CODES = {
    "is_abuse.0": "Ambiguous", "is_abuse.-1": "Abusive/Mild", "is_abuse.-2": "Abusive/Strong",
    "is_abuse.-3": "Abusive/Very strong",
    "type.ableism": "Type/Ableism", "type.homophobic": "Type/Homophobic", "type.intellectual": "Type/Intellectual",
    "type.racist": "Type/Racist", "type.sexist": "Type/Sexist", "type.sex_harassment": "Type/Sexual harassment",
    "type.transphobic": "Type/Transphobic",
    "target.generalised": "Target/Generalised", "target.individual": "Target/Individual",
    "target.system": "Target/System", "direction.explicit": "Direction/Explicit",
    "direction.implicit": "Direction/Implicit",
}

CONVABUSE_BOOK = [
    ("Ambiguous", "It is unclear whether the user is being abusive towards the agent or others.",
     "you are a strange one"),
    ("Abusive/Mild", "Mildly abusive: rude, insulting or inappropriate, but not strongly so.",
     "you are useless and boring"),
    ("Abusive/Strong", "Strongly abusive: clear insults, swearing at the agent, sexual or hateful remarks.",
     "shut up you stupid bitch"),
    ("Abusive/Very strong", "Very strongly abusive: threats, graphic sexual content, slurs, extreme hate.",
     "I will rape you and kill you"),
    ("Type/Ableism", "Abuse about disability or mental health.", "you are retarded"),
    ("Type/Homophobic", "Abuse about sexual orientation.", "are you gay you faggot"),
    ("Type/Intellectual", "Abuse about intelligence or competence: calling the agent stupid or dumb.",
     "you are so stupid and dumb, idiot"),
    ("Type/Racist", "Abuse about race, ethnicity or nationality.", "go back to your country"),
    ("Type/Sexist", "Abuse about gender or sex; sexist stereotypes.", "women belong in the kitchen, bitch"),
    ("Type/Sexual harassment", "Unwanted sexual remarks, requests or innuendo towards the agent.",
     "send nudes, do you like it hard, sex"),
    ("Type/Transphobic", "Abuse about gender identity.", "you are a tranny"),
    ("Target/Generalised", "The abuse targets a group of people.", "all women are stupid"),
    ("Target/Individual", "The abuse targets an individual other than the agent.", "my sister is a slut"),
    ("Target/System", "The abuse targets the agent (the system) itself.", "you are a stupid bot"),
    ("Direction/Explicit", "The abuse is explicit: insults, slurs, swearing.", "fuck you idiot"),
    ("Direction/Implicit", "The abuse is implicit: sarcasm, innuendo, stereotypes without insults.",
     "do you even know anything"),
]

BREXIT_BOOK = [
    ("Hate speech", "Attacks or incites hatred against people for their religion, ethnicity or origin "
                    "(Muslims, immigrants, refugees).", "Send them all back, Islam is a disease"),
    ("Aggressive", "Aggressive language: threatening, violent or hostile towards a person or group.",
     "They should be kicked out by force"),
    ("Offensive", "Offensive language: insults, slurs, swearing or contempt.", "stupid remoaners, disgusting"),
]


def _need(path: Path, how: str) -> None:
    if not path.exists():
        raise Missing(f"{path} is missing: {how} (see bench/suggest_data.py)")


def convabuse() -> Dataset:
    """Load ConvAbuse: one unit per (conversation, user turn), one code set per annotator."""
    path = DATA / "convabuse" / "ConvAbuseEMNLPfull.csv"
    _need(path, "git clone https://github.com/amandacurry/convabuse and copy 1_full/ConvAbuseEMNLPfull.csv")
    units: dict[str, str] = {}
    codings: dict[str, dict[str, frozenset[str]]] = {}
    keys: dict[tuple[str, ...], str] = {}
    with path.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            key = (row["conv_id"], row["prev_agent"], row["prev_user"], row["agent"], row["user"])
            uid = keys.setdefault(key, f"c{len(keys):05d}")
            units[uid] = row["user"]
            by = codings.setdefault(uid, {})
            if row["annotator_id"] not in by:  # a repeat labelling measured intra-annotator agreement
                by[row["annotator_id"]] = frozenset(code for column, code in CONVABUSE_CODES.items()
                                                    if row.get(column) == "1")
    return Dataset("ConvAbuse", units, codings, CONVABUSE_BOOK, "github.com/amandacurry/convabuse (CC BY 4.0)")


def hs_brexit() -> Dataset:
    """Load HS-Brexit (train, dev and test): three codes from the three tasks, six annotators."""
    folder = DATA / "hs-brexit"
    _need(folder / "HS-Brexit_train.json", "git clone https://github.com/Le-Wi-Di/le-wi-di.github.io and copy "
          "LeWiDi_2-2023/HS-Brexit_dataset/HS-Brexit_*.json")
    units: dict[str, str] = {}
    codings: dict[str, dict[str, frozenset[str]]] = {}
    for split in ("train", "dev", "test"):
        data = json.loads((folder / f"HS-Brexit_{split}.json").read_text(encoding="utf-8"))
        for key, item in data.items():
            uid = f"{split}{key}"
            units[uid] = item["text"]
            annotators = item["annotators"].split(",")
            tasks = {"Hate speech": item["annotations"],
                     "Aggressive": item["other_info"]["other annotations"]["aggressive language detection"],
                     "Offensive": item["other_info"]["other annotations"]["offensive language detection"]}
            values = {code: text.split(",") for code, text in tasks.items()}
            codings[uid] = {a: frozenset(code for code in tasks if values[code][i] == "1")
                            for i, a in enumerate(annotators)}
    return Dataset("HS-Brexit", units, codings, BREXIT_BOOK, "Le-Wi-Di 2023 (no licence stated)")


_SYLLABLES = ("ka", "lo", "mi", "ve", "tor", "sa", "ne", "ru", "pli", "dan", "go", "fe", "stu", "rim", "ba",
              "qua", "zel", "tin", "mor", "pe")


def generated(n_units: int = 1200, n_coders: int = 4, seed: int = 7) -> Dataset:
    """Generate answers for a 40-code codebook, a third about nothing in it, with correlated coder errors."""
    rng = random.Random(seed)
    words = sorted({"".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(2, 3))) for _ in range(900)})
    rng.shuffle(words)
    shared, words = words[:60], words[60:]
    codes, vocab = [], {}
    for domain in range(8):
        for theme in range(5):
            code = f"Domain {domain + 1}/Theme {theme + 1}"
            codes.append(code)
            # Siblings share a third of their words: the confusions coders (and models) make.
            own = words[:8]
            words = words[8:]
            vocab[code] = own + vocab.get(codes[-2], own)[:4] if theme else own
    book = [(code, " ".join(vocab[code][:5]), " ".join(vocab[code][2:7])) for code in codes]
    coders = [f"coder{i + 1}" for i in range(n_coders)]
    units: dict[str, str] = {}
    codings: dict[str, dict[str, frozenset[str]]] = {}
    for i in range(n_units):
        uid = f"g{i:05d}"
        truth: set[str] = set()
        if rng.random() >= 1 / 3:
            truth = set(rng.sample(codes, 1 if rng.random() < 0.7 else 2))
        text = [rng.choice(shared) for _ in range(rng.randint(4, 9))]
        for code in sorted(truth):  # sorted: a set's order changes with the process's hash seed
            text += rng.sample(vocab[code], rng.randint(2, 4))
        rng.shuffle(text)
        units[uid] = " ".join(text).capitalize() + "."
        hard = rng.random() < 0.25
        confusion = {code: codes[codes.index(code) + (1 if codes.index(code) % 5 < 4 else -1)] for code in truth}
        by = {}
        for coder in coders:
            applied = set()
            for code in sorted(truth):
                if hard and rng.random() < 0.6:  # the shared misreading
                    applied.add(confusion[code])
                elif rng.random() >= 0.08:
                    applied.add(code)
            if rng.random() < 0.04:
                applied.add(rng.choice(codes))
            by[coder] = frozenset(applied)
        codings[uid] = by
    return Dataset("generated (40 codes, 1/3 empty, correlated errors)", units, codings, book, "generated")


LOADERS: dict[str, Callable[[], Dataset]] = {"convabuse": convabuse, "hs-brexit": hs_brexit,
                                             "generated": generated}
