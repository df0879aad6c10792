"""No detected value may survive anywhere in a run's outputs, logs or error messages: seed known values into real
WARC pages, run the whole pipeline through the CLI, and search every file it wrote (Parquet decoded) and
everything it printed."""

from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import yaml

from sovereign.pipeline.synthetic.banks import load_bank
from sovereign.pipeline.synthetic.pii_evalset import gen_de_tax_id, gen_fr_nir, gen_iban, gen_pl_pesel
from tests.helpers.outputs import texts_of
from tests.helpers.warc import html_page, write_warc

LEAD_INS = {
    "de": "Für Rückfragen zum Antrag {i} erreichen Sie die Sachbearbeitung unter {value}. ",
    "fr": "Pour le dossier {i}, votre numéro de sécurité sociale enregistré est {value}. ",
    "pl": "W sprawie wniosku {i} prosimy podać numer PESEL {value}. ",
}


def _seeded_values() -> list[tuple[str, str, str]]:
    """(kind, value, language of the page that carries it): national ids sit in their country's language."""
    rng = random.Random(20261123)
    return [
        ("email", "erika.mustermann@beispiel-behoerde.de", "de"),
        ("iban", gen_iban(rng, "DE"), "de"),
        ("steuer_id", gen_de_tax_id(rng), "de"),
        ("phone", "+49 30 1234 5678", "de"),
        ("nir", gen_fr_nir(rng), "fr"),
        ("pesel", gen_pl_pesel(rng), "pl"),
    ]


def _sentences(lang: str) -> list[str]:
    bank = load_bank(lang)
    sentences = [s for topic in bank["topics"] for s in topic["sentences"]]
    assert len(sentences) >= 48
    return sentences


def test_seeded_pii_never_reaches_outputs_or_logs(tmp_path: Path) -> None:
    values = _seeded_values()
    pages = []
    for i, (kind, value, lang) in enumerate(values):
        own = _sentences(lang)[i * 8 : i * 8 + 8]  # distinct prose per page, so dedup keeps every page
        body = [" ".join(own[:4]), LEAD_INS[lang].format(i=i, value=value) + " ".join(own[4:])]
        pages.append((f"https://www.beispiel-behoerde.de/antrag/{kind}", html_page(f"Antrag {i}", body, lang)))
    inputs = tmp_path / "in"
    inputs.mkdir()
    write_warc(inputs / "crawl.warc.gz", pages)
    # The same values in a JSONL record that fails to parse: its error must not quote it either.
    (inputs / "broken.jsonl").write_text('{"text": "' + values[1][1] + '" broken\n', encoding="utf-8")
    cfg = {
        "name": "leak",
        "inputs": [{"uri": str(inputs / "*")}],
        "output": str(tmp_path / "run"),
        "stages": [
            {"name": n} for n in ("extract", "langid", "quality", "rights", "pii", "dedup_exact", "dedup_fuzzy")
        ],
    }
    cfg_path = tmp_path / "run.yaml"
    cfg_path.write_text(yaml.safe_dump(cfg))
    proc = subprocess.run(
        [sys.executable, "-m", "sovereign.pipeline.cli", "run", str(cfg_path)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    run = tmp_path / "run"
    kept = pq.read_table(run / "shards").to_pylist()
    assert len(kept) == len(values), "every seeded page should be kept (with its PII replaced)"
    counts = [r["pii_counts"] for r in kept]
    assert all(sum(v or 0 for v in c.values()) >= 1 for c in counts), counts
    haystack = texts_of(run) + [proc.stdout, proc.stderr]
    for kind, value, _ in values:
        for variant in {value, value.replace(" ", "")}:
            leaks = [h[:80] for h in haystack if variant in h]
            assert not leaks, f"seeded {kind} value found in the run's outputs or logs"
