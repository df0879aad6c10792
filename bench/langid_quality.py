"""Speed and keep-rates of the langid and quality stages, against anchors measured in the same run, on one core.

Corpus (from ../shared/data, written by others): the 146 pages of trafilatura's evaluation set (extracted with
trafilatura, not timed; mostly German, some Polish/English/French) + the public-sector laws split per title
(French Napoleonic codes, English EUR-Lex acts) + the German federal laws whole.

  langid   ours: LanguageIdStage.apply_batch (one fastText call per batch, 2,000-char prefix)
           anchor: fastText predict one document at a time on the full text (newlines replaced)
  quality  ours: QualityStage.apply (Gopher quality + repetition + FineWeb line rules, per-language stop words)
           anchor: datatrove GopherQualityFilter + GopherRepetitionFilter + FineWebQualityFilter, defaults
           (English spaCy tokeniser, English stop words), the closest packaged equivalent

    .venv/bin/python bench/langid_quality.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from _shared import shared_data_dir  # noqa: E402 - bench/_shared.py, beside this script: the one data rule

from sovereign.stages.langid import LanguageIdStage, default_model_path, load_model  # noqa: E402
from sovereign.stages.quality import QualityStage  # noqa: E402

CONF = shared_data_dir() / "conformance"


def corpus() -> list[dict]:
    import trafilatura

    docs = []
    for path in sorted((CONF / "trafilatura-eval-pages" / "html").glob("*.gz")):
        text = trafilatura.extract(gzip.decompress(path.read_bytes()).decode("utf-8", "replace"))
        if text:
            docs.append({"id": f"page:{path.name}", "text": text})
    for name in ("napoleonic_codes_fr.json", "eurlex_digital_acquis_en.json"):
        data = json.loads((CONF / "public-sector" / name).read_text(encoding="utf-8"))
        for part in data["parts"]:
            for book in part["books"]:
                for title in book["titles"]:
                    text = "\n".join(p["original_text"] for p in title["paragraphs"])
                    if text.strip():
                        docs.append({"id": f"law:{name}:{len(docs)}", "text": text})
    for path in sorted((CONF / "de-bundesgesetze").glob("*.md")):
        if path.name != "SOURCE.md":
            docs.append({"id": f"law:{path.name}", "text": path.read_text(encoding="utf-8")})
    return docs


def best_of(repeat: int, fn) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()

    from datatrove.data import Document
    from datatrove.pipeline.filters import FineWebQualityFilter, GopherQualityFilter, GopherRepetitionFilter

    docs = corpus()
    mb = sum(len(d["text"].encode()) for d in docs) / 1e6
    n = len(docs)

    lid = LanguageIdStage()
    lid.ensure_setup()
    model = load_model(default_model_path())
    t_lid = best_of(args.repeat, lambda: [lid.apply_batch(docs[i : i + 256]) for i in range(0, n, 256)])
    t_lid_anchor = best_of(args.repeat, lambda: [model.predict(d["text"].replace("\n", " "), k=1) for d in docs])

    verdicts = [v for i in range(0, n, 256) for v in lid.apply_batch(docs[i : i + 256])]
    kept = []
    for doc, v in zip(docs, verdicts, strict=True):
        if isinstance(v, dict):
            kept.append(doc | v)
    q = QualityStage()
    q.ensure_setup()
    t_q = best_of(args.repeat, lambda: [q.apply(d) for d in kept])
    filters = [GopherQualityFilter(), GopherRepetitionFilter(), FineWebQualityFilter()]

    def datatrove_verdict(doc: dict) -> str:
        for f in filters:
            r = f.filter(Document(text=doc["text"], id=doc["id"]))
            if r is not True:
                return r[1] if isinstance(r, tuple) else "dropped"
        return "kept"

    datatrove_verdict(kept[0])  # load spaCy once, outside the timing
    t_dt = best_of(args.repeat, lambda: [datatrove_verdict(d) for d in kept])

    print(f"corpus: {n} docs, {mb:.2f} MB; languages kept by langid: {dict(Counter(d['language'] for d in kept))}")
    print(f"{'stage':<10}{'impl':<34}{'docs/s':>10}{'MB/s':>8}{'ratio':>8}")
    for stage, impl, t, anchor in (
        ("langid", "fastText per doc, full text", t_lid_anchor, t_lid_anchor),
        ("langid", "ours (batched, 2k-char prefix)", t_lid, t_lid_anchor),
        ("quality", "datatrove Gopher+Rep+FineWeb", t_dt, t_dt),
        ("quality", "ours", t_q, t_dt),
    ):
        docs_n = n if stage == "langid" else len(kept)
        mbs = mb if stage == "langid" else sum(len(d["text"].encode()) for d in kept) / 1e6
        print(f"{stage:<10}{impl:<34}{docs_n / t:>10.0f}{mbs / t:>8.2f}{anchor / t:>7.1f}x")

    ours = Counter()
    theirs = Counter()
    for d in kept:
        v = q.apply(d)
        ours[(d["language"], "kept" if isinstance(v, dict) else "dropped")] += 1
        theirs[(d["language"], "kept" if datatrove_verdict(d) == "kept" else "dropped")] += 1
    print(f"\n{'lang':<6}{'docs':>6}{'kept (ours)':>13}{'kept (datatrove)':>18}")
    for lang in sorted({k[0] for k in ours}, key=lambda x: -(ours[(x, "kept")] + ours[(x, "dropped")])):
        total = ours[(lang, "kept")] + ours[(lang, "dropped")]
        print(f"{lang:<6}{total:>6}{ours[(lang, 'kept')]:>13}{theirs[(lang, 'kept')]:>18}")


if __name__ == "__main__":
    main()
