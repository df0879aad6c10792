"""README.md: the dataset card. Hugging Face YAML front matter (configs per language and for the manifest, licence,
languages, size) so `datasets.load_dataset(RELEASE)` works as-is, and a body that says what the corpus is and how
it was made, from run.json only (no document text, no personal data)."""

from __future__ import annotations

from typing import Any

import yaml

from sovereign.pipeline.release.layout import DOCMAPS, DOCUMENTS, MANIFEST, PACKS

NO_LICENCE = "(none found)"
MEGATRON_HEADING = "## Training with Megatron-LM"


def size_category(n: int) -> str:
    """The Hugging Face size bucket for n records."""
    bounds = [(1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M"),
              (10_000_000, "1M<n<10M"), (100_000_000, "10M<n<100M"), (1_000_000_000, "100M<n<1B")]  # fmt: skip
    return next((label for bound, label in bounds if n < bound), "n>1B")


def licence_classes(counts: dict[str | None, int]) -> list[dict[str, Any]]:
    """One row per licence seen in the kept documents, with the registry's training class and conditions. A shard
    id with a version or port (CC-BY-NC-ND-4.0) is matched to its registry family (CC-BY-NC-ND)."""
    from sovereign.stages.rights.policy import load_registry

    registry, _ = load_registry()
    by_id = {lic.id: lic for lic in registry.licences}
    rows = []
    for lid, n in sorted(counts.items(), key=lambda kv: (kv[0] is None, kv[0] or "")):
        lic = None
        if lid is not None:
            lic = by_id.get(lid) or max(
                (v for k, v in by_id.items() if lid.startswith(k + "-")), key=lambda v: len(v.id), default=None
            )
        conditions = []
        if lic is not None:
            flags = (("attribution", "attribution"), ("share_alike", "share-alike"),
                     ("non_commercial", "non-commercial"), ("no_derivatives", "no-derivatives"))  # fmt: skip
            conditions = [label for attr, label in flags if getattr(lic, attr)]
        rows.append(
            {
                "licence": lid or NO_LICENCE,
                "registry_id": lic.id if lic else None,
                "documents": n,
                "training": lic.training if lic else "unknown",
                "conditions": conditions,
            }
        )
    return rows


def front_matter(name: str, languages: dict[str, int], licences: list[dict[str, Any]], total: int) -> dict[str, Any]:
    configs: list[dict[str, Any]] = [
        {
            "config_name": "default",
            "default": True,
            "data_files": [{"split": "train", "path": f"{DOCUMENTS}/*/*.parquet"}],
        },  # fmt: skip
    ]
    configs += [
        {"config_name": lang, "data_files": [{"split": "train", "path": f"{DOCUMENTS}/lang={lang}/*.parquet"}]}
        for lang in sorted(languages)
    ]
    configs.append({"config_name": "manifest", "data_files": [{"split": "train", "path": f"{MANIFEST}/*.parquet"}]})
    return {
        "pretty_name": name,
        "language": sorted(languages),
        "license": "other",
        "license_name": "per-document-licences",
        "license_link": "README.md#licences",
        "size_categories": [size_category(total)],
        "task_categories": ["text-generation"],
        "configs": configs,
    }


def _table(header: list[str], rows: list[list[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def megatron_section(packs: list[dict[str, Any]]) -> str:
    """The Megatron-LM training section (flags for --data-path and the tokenizer are filled in by the pack step)."""
    if not packs:
        return f"{MEGATRON_HEADING}\n\nThis release has no tokenised packs (`sovereign pack RUN` makes them).\n"
    names = ", ".join(f"`{PACKS}/{p['name']}`" for p in packs)
    return (
        f"{MEGATRON_HEADING}\n\nPacks: {names} (Megatron-LM indexed datasets; their doc maps are under `{DOCMAPS}/`).\n"
    )


def card(
    name: str,
    version: str,
    run: dict[str, Any],
    languages: dict[str, int],
    manifest_rows: int,
    licences: list[dict[str, Any]],
    packs: list[dict[str, Any]],
) -> str:
    total = sum(languages.values())
    meta = yaml.safe_dump(front_matter(name, languages, licences, total), sort_keys=False, allow_unicode=True)
    counts = run.get("counts", {})
    by_reason = counts.get("by_reason", {})
    rights = by_reason.get("rights", {})
    stages = [s.get("name") for s in run.get("stages", [])]
    pii = next((s for s in run.get("stages", []) if s.get("name") == "pii"), None)
    parts = [
        f"---\n{meta}---\n",
        f"# {name} {version}\n",
        f"A multilingual text corpus made by Sovereign from {len(run.get('inputs', []))} input "
        f"files ({counts.get('input_records', 0):,} records): {total:,} documents kept in {len(languages)} languages, "
        f"{counts.get('dropped', 0):,} dropped and {counts.get('quarantined', 0):,} quarantined, each with its reason "
        f"in the manifest. Stages: {', '.join(f'`{s}`' for s in stages)}.\n",
        f"Run root hash: `{run.get('root_hash')}` (sha256 over every output of the run; `run.json` in this folder has "
        "it with the config, code and model digests). Every file's sha256 is in `SHA256SUMS`.\n",
        "## Documents per language\n\n"
        + _table(["language", "documents"], [[k, f"{v:,}"] for k, v in sorted(languages.items())])
        + f"\n\nManifest rows: {manifest_rows:,}\n",
        "## Opt-outs\n\n"
        + (
            "Rights reservations captured with the crawl (TDMRep, robots.txt for AI user agents, AI preferences, "
            "X-Robots-Tag, meta robots) were honoured: the documents below were dropped by the `rights` stage.\n\n"
            + _table(["reason", "documents"], [[k, v] for k, v in sorted(rights.items())])
            if "rights" in stages
            else "The run had no `rights` stage: opt-outs were **not** checked."
        )
        + "\n",
        "## Personal data\n\n"
        + (
            f"The `pii` stage replaced {len(pii.get('params', {}).get('entities', []))} kinds of identifiers "
            f"({', '.join(pii.get('params', {}).get('entities', []))}) with typed placeholders such as `<EMAIL>` in "
            "the text and URLs. Detection is pattern-based: it misses names and identifiers it has no rule for."
            if pii
            else "The run had no `pii` stage: personal data was **not** scrubbed."
        )
        + "\n",
        "## Licences\n\nEach document carries the licence detected for it (column `licence`); the corpus as a whole "
        "has no single licence. Training class from the licence registry (`yes`, `conditional`, `unknown`):\n\n"
        + _table(
            ["licence", "documents", "training", "conditions"],
            [[r["licence"], r["documents"], r["training"], ", ".join(r["conditions"]) or "-"] for r in licences],
        )
        + "\n",
        "## How to load\n\n```python\nfrom datasets import load_dataset\n"
        'docs = load_dataset("RELEASE")              # all documents\n'
        'de = load_dataset("RELEASE", "de")          # one language\n'
        'manifest = load_dataset("RELEASE", "manifest")\n```\n\n'
        "```sql\n-- DuckDB\nSELECT language, count(*)\n"
        "FROM read_parquet('RELEASE/documents/**/*.parquet') GROUP BY 1;\n```\n\n"
        '```python\n# Spark\ndocs = spark.read.parquet("RELEASE/documents")\n'
        'manifest = spark.read.parquet("RELEASE/manifest")\n```\n\n'
        "`sovereign pull RELEASE --to DIR` downloads a release (or some languages) and checks every file against "
        "`SHA256SUMS`; `sha256sum -c SHA256SUMS` does the same in a local copy.\n",
        megatron_section(packs),
    ]
    return "\n".join(parts)
