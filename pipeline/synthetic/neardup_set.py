"""A labelled near-duplicate set, generated deterministically from base paragraphs.

Each family is one base document (~2.5 KB of consecutive paragraphs) plus variants edited at controlled
strengths: inserted boilerplate, changed dates, reordered paragraphs, dropped paragraphs, substituted words
(and mixes). Hard negatives are unrelated base documents wrapped in the same site boilerplate; the rest of
the bases stay as unrelated singletons. Labels are not the intended edit strength: every pair's exact Jaccard
over the shingles the stage uses (word 5-grams of normalised text) is computed, and a pair is a true duplicate
when it reaches the threshold. Base text comes from the shared public-sector laws (or a synthetic vocabulary
when they are absent).
"""

from __future__ import annotations

import itertools
import json
import random
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa

from sovereign.stages.minhash import MinHashConfig, shingle_hashes

MONTHS = "January February March April May June July August September October November December".split()
BOILERPLATE = [
    "We use cookies to improve your experience on our website. By continuing to browse you accept our use of "
    "cookies. Read our privacy policy and cookie statement to learn more about how we process personal data.",
    "Home | About us | News | Publications | Legislation | Contact | Accessibility | Sitemap | Search this site",
    "Subscribe to our newsletter to receive the latest updates on legislation, consultations and events. You can "
    "unsubscribe at any time using the link in the footer of every e-mail we send to our subscribers.",
    "Copyright Publications Office. All rights reserved. Reuse is authorised provided the source is acknowledged. "
    "Legal notice | Data protection | Cookies policy | Language policy | Accessibility statement",
]


@dataclass
class NearDupSet:
    docs: list[dict]  # id, text, family, edit
    true_pairs: set[tuple[int, int]]  # index pairs (i < j) with exact Jaccard >= threshold
    jaccard: dict[tuple[int, int], float] = field(default_factory=dict)  # every pair sharing a shingle


def shared_paragraphs(shared_data: Path) -> list[str]:
    """Paragraphs of the shared public-sector laws (EUR-Lex en, Napoleonic codes fr), in file order."""
    out: list[str] = []
    base = shared_data / "conformance" / "public-sector"
    for name in ("eurlex_digital_acquis_en.json", "napoleonic_codes_fr.json"):
        data = json.loads((base / name).read_text(encoding="utf-8"))
        for part in data["parts"]:
            for book in part["books"]:
                for title in book["titles"]:
                    out += [p["original_text"].strip() for p in title["paragraphs"] if len(p["original_text"]) > 80]
    return out


def synthetic_paragraphs(n: int, seed: int = 0) -> list[str]:
    """Paragraphs of pseudo-words with a Zipf-like frequency, for when no real text is at hand."""
    rng = np.random.default_rng(seed)
    sy = ["ka", "lo", "mi", "ne", "ta", "ru", "so", "vi", "de", "pa", "ge", "fu", "ba", "zo", "el", "an", "ur", "is"]
    vocab = sorted({"".join(rng.choice(sy, size=int(rng.integers(1, 5)))) for _ in range(30_000)})
    p = 1.0 / np.arange(1, len(vocab) + 1)
    p /= p.sum()
    paras = []
    for _ in range(n):
        sentences = [
            " ".join(rng.choice(vocab, size=int(rng.integers(8, 20)), p=p)).capitalize() + "." for _ in range(5)
        ]
        paras.append(" ".join(sentences))
    return paras


def base_documents(paragraphs: list[str], target_chars: int = 2500) -> list[list[str]]:
    """Consecutive paragraphs grouped into documents of about target_chars."""
    docs, cur, size = [], [], 0
    for para in paragraphs:
        cur.append(para)
        size += len(para)
        if size >= target_chars:
            docs.append(cur)
            cur, size = [], 0
    return docs


def _dateline(rng: random.Random) -> str:
    day, month, year = rng.randint(1, 28), rng.choice(MONTHS), rng.randint(1990, 2024)
    return f"Published on {day} {month} {year}, last updated {rng.choice(MONTHS)}."


def _substitute(text: str, frac: float, rng: random.Random, vocab: list[str]) -> str:
    words = text.split(" ")
    for i in rng.sample(range(len(words)), int(len(words) * frac)):
        words[i] = rng.choice(vocab)
    return " ".join(words)


def _variant(paras: list[str], edit: str, strength: float, rng: random.Random, vocab: list[str]) -> list[str]:
    p = list(paras)
    if edit == "boilerplate":
        k = max(1, round(strength * len(BOILERPLATE)))
        return BOILERPLATE[:k] + p if rng.random() < 0.5 else p + BOILERPLATE[:k]
    if edit == "dates":
        return [_dateline(rng)] + p + [_dateline(rng)]
    if edit == "reorder":
        k = max(2, round(strength * len(p)))
        idx = rng.sample(range(len(p)), min(k, len(p)))
        moved = [p[i] for i in idx]
        rng.shuffle(moved)
        for i, para in zip(sorted(idx), moved, strict=True):
            p[i] = para
        return p
    if edit == "drop":
        k = min(len(p) - 1, max(1, round(strength * len(p))))
        gone = set(rng.sample(range(len(p)), k))
        return [para for i, para in enumerate(p) if i not in gone]
    if edit == "words":
        return [_substitute(para, strength, rng, vocab) for para in p]
    if edit == "mixed":
        p = _variant(p, "words", strength / 2, rng, vocab)
        p = _variant(p, "reorder", strength, rng, vocab)
        return _variant(p, "boilerplate", strength, rng, vocab)
    raise ValueError(f"unknown edit {edit!r}")


EDITS = [
    ("boilerplate", 0.25), ("boilerplate", 1.0), ("dates", 0.0), ("reorder", 0.3), ("reorder", 1.0),
    ("drop", 0.1), ("drop", 0.3), ("drop", 0.5), ("words", 0.02), ("words", 0.05), ("words", 0.1),
    ("words", 0.2), ("mixed", 0.1),
]  # fmt: skip


def generate(
    paragraphs: list[str],
    families: int = 40,
    variants_per_family: int = 6,
    boilerplate_groups: int = 4,
    group_size: int = 6,
    singletons: int = 100,
    threshold: float = 0.7,
    seed: int = 0,
) -> NearDupSet:
    rng = random.Random(seed)
    bases = base_documents(paragraphs)
    need = families + boilerplate_groups * group_size + singletons
    if len(bases) < need:
        raise ValueError(f"need {need} base documents, the paragraphs give {len(bases)}")
    order = rng.sample(range(len(bases)), need)
    vocab = sorted({w for para in paragraphs[:2000] for w in re.findall(r"\w+", para)})
    docs: list[dict] = []
    for f in range(families):
        base = bases[order[f]]
        docs.append({"family": f, "edit": "base", "paras": base})
        for edit, strength in rng.sample(EDITS, variants_per_family):
            docs.append(
                {"family": f, "edit": f"{edit}:{strength}", "paras": _variant(base, edit, strength, rng, vocab)}
            )
    nxt = families
    for g in range(boilerplate_groups):
        site = [_dateline(random.Random(g))] + BOILERPLATE[g % 2 : g % 2 + 2]
        for _ in range(group_size):
            base = bases[order[nxt]]
            nxt += 1
            docs.append({"family": -1 - g, "edit": "shared-boilerplate", "paras": site[:2] + base + site[2:]})
    for _ in range(singletons):
        docs.append({"family": None, "edit": "unrelated", "paras": bases[order[nxt]]})
        nxt += 1
    rng.shuffle(docs)
    out = []
    for i, d in enumerate(docs):
        out.append(
            {"id": f"nd{seed:02d}-{i:05d}", "text": "\n\n".join(d["paras"]), "family": d["family"], "edit": d["edit"]}
        )
    jac = exact_jaccard([d["text"] for d in out])
    true_pairs = {pair for pair, j in jac.items() if j >= threshold}
    return NearDupSet(docs=out, true_pairs=true_pairs, jaccard=jac)


def exact_jaccard(texts: list[str], cfg: MinHashConfig | None = None) -> dict[tuple[int, int], float]:
    """Exact Jaccard of every pair of texts that shares at least one shingle (inverted index)."""
    cfg = cfg or MinHashConfig()
    sh, off = shingle_hashes(pa.array(texts), np.zeros(len(texts), bool), cfg)
    sets = [np.unique(sh[off[i] : off[i + 1]]) for i in range(len(texts))]
    doc = np.concatenate([np.full(len(s), i) for i, s in enumerate(sets)])
    key = np.concatenate(sets)
    order = np.lexsort((doc, key))
    key, doc = key[order], doc[order]
    bounds = np.flatnonzero(np.diff(key)) + 1
    shared: Counter[tuple[int, int]] = Counter()
    for group in np.split(doc, bounds):
        if len(group) > 1:
            shared.update(itertools.combinations(group.tolist(), 2))
    return {(a, b): n / (len(sets[a]) + len(sets[b]) - n) for (a, b), n in shared.items()}


def pair_scores(clusters: list[int | None], true_pairs: set[tuple[int, int]]) -> dict[str, float]:
    """Pairwise precision/recall/F1 of a clustering (cluster label per doc index; None = singleton)."""
    members: dict[int, list[int]] = {}
    for i, c in enumerate(clusters):
        if c is not None:
            members.setdefault(c, []).append(i)
    predicted = {tuple(sorted(p)) for m in members.values() for p in itertools.combinations(m, 2)}
    tp = len(predicted & true_pairs)
    precision = tp / len(predicted) if predicted else 1.0
    recall = tp / len(true_pairs) if true_pairs else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "predicted_pairs": len(predicted),
        "true_pairs": len(true_pairs),
    }
