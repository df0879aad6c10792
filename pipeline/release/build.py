"""`sovereign release`: copy a finished, verified run into the release layout (layout.py) and describe it: the
card (card.py), croissant.json (croissant.py), release.json and SHA256SUMS. The run is not changed. Every copied
file is checked against the digest the run recorded for it (documents and manifest are written anew with the
release in their Parquet metadata: stamp.py); release.json is written last and marks a complete
release. The same run gives the same release bytes wherever it is written (no timestamps)."""

from __future__ import annotations

import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from sovereign.pipeline.errors import SovereignError
from sovereign.pipeline.release import card as card_mod
from sovereign.pipeline.release import layout as L
from sovereign.pipeline.release.copy import copy_file
from sovereign.pipeline.release.croissant import croissant
from sovereign.pipeline.release.layout import CopyItem, languages_of, plan_copies
from sovereign.pipeline.release.stamp import stamp_parquet, stamped_metadata
from sovereign.pipeline.runinfo import RUN_JSON, SUCCESS, dumps, printable, sha256_bytes
from sovereign.pipeline.storage import Store

RELEASE_FORMAT = "sovereign-release/1"
COPY_THREADS = 8  # copies wait on storage, not CPU: threads overlap the waits


class ReleaseError(SovereignError):
    """A release that cannot be made, said in one line."""


def release_run(
    run_uri: str,
    to_uri: str,
    name: str,
    version: str,
    overwrite: bool = False,
    progress: Callable[[str, int], None] | None = None,
) -> dict[str, Any]:
    """Make the release; returns release.json's content. progress(dest, bytes) after each copied file."""
    from sovereign.pipeline.audit import verify_run

    run = Store(run_uri)
    dest = Store(to_uri)
    if dest.root_uri == run.root_uri or dest.root_uri.startswith(run.root_uri.rstrip("/") + "/"):
        raise ReleaseError(f"{to_uri} is inside the run {run_uri}: write the release somewhere else")
    problems, _ = verify_run(run_uri)
    if problems:
        raise ReleaseError(
            f"{run_uri} fails `sovereign audit verify` ({len(problems)} problems; first: "
            f"{printable(problems[0][:300])}): only a verified run can be released"
        )
    run_json_bytes = run.read_bytes(RUN_JSON)
    info = json.loads(run_json_bytes)
    marker = json.loads(run.read_bytes(SUCCESS))
    packs = _packs(run)
    items = plan_copies(run, info["outputs"], {p: m.get("files", {}) for p, m in packs.items()})
    _prepare(dest, overwrite)

    stamp = stamped_metadata(info["root_hash"], name, version)

    def one(item: CopyItem) -> tuple[str, dict[str, Any]]:
        expected = marker["run_json_sha256"] if item.src == RUN_JSON else item.sha256
        if _stamped(item.dest):  # documents and manifest: rewritten with the release in their metadata
            digest, size, source = stamp_parquet(run, item.src, dest, item.dest, stamp)
            entry = {"sha256": digest, "bytes": size, "source_sha256": source}
        else:
            digest, size = copy_file(run, item.src, dest, item.dest)
            entry, source = {"sha256": digest, "bytes": size}, digest
        if expected is not None and source != expected:
            raise ReleaseError(
                f"{item.dest}: the run's file has sha256 {source[:16]}…, the run recorded {expected[:16]}…"
            )
        if progress is not None:
            progress(item.dest, size)
        return item.dest, entry

    with ThreadPoolExecutor(COPY_THREADS) as pool:
        files = dict(pool.map(one, items))

    doc_rels = sorted(r for r in files if r.startswith(f"{L.DOCUMENTS}/"))
    man_rels = sorted(r for r in files if r.startswith(f"{L.MANIFEST}/"))
    languages = {lang: 0 for lang in languages_of(doc_rels)}
    for rel in doc_rels:
        languages[rel.split("/")[1][len("lang=") :]] += dest.parquet_file(rel).metadata.num_rows
    manifest_rows = sum(dest.parquet_file(r).metadata.num_rows for r in man_rels)
    licences = card_mod.licence_classes(_licence_counts(dest, doc_rels))
    pack_info = [_pack_entry(p, packs[p], files) for p in sorted(packs)]

    readme = card_mod.card(name, version, info, languages, manifest_rows, licences, pack_info).encode()
    _write(dest, files, L.README, readme)
    meta = croissant(
        name=name,
        version=version,
        description=f"{name} {version}: {sum(languages.values()):,} documents in {len(languages)} languages.",
        languages=languages,
        documents_schema=_schema(dest, doc_rels),
        manifest_schema=_schema(dest, man_rels),
        readme_sha256=files[L.README]["sha256"],
        rai=rai_fields(info, licences),
        licence_text="Per-document licences (column `licence`); see README.md, section Licences.",
    )
    _write(dest, files, L.CROISSANT, dumps(meta))
    sums = "".join(f"{files[rel]['sha256']}  {rel}\n" for rel in sorted(files)).encode()
    dest.write_bytes(L.SHA256SUMS, sums)
    release = {
        "format": RELEASE_FORMAT,
        "name": name,
        "version": version,
        "run_root_hash": info["root_hash"],
        "created_from": {
            "name": info.get("name"),
            "config_sha256": info.get("config_sha256"),
            "sovereign_version": info.get("sovereign_version"),
        },  # fmt: skip
        "tables": {"documents": L.DOCUMENTS, "manifest": L.MANIFEST, "packs": L.PACKS, "docmaps": L.DOCMAPS},
        "languages": {
            lang: {"documents": n, "files": [r for r in doc_rels if r.startswith(f"{L.DOCUMENTS}/lang={lang}/")]}
            for lang, n in languages.items()
        },
        "manifest": {"rows": manifest_rows, "files": man_rels},
        "packs": pack_info,
        "files": dict(sorted(files.items())),
        "sha256sums_sha256": sha256_bytes(sums),
    }
    dest.write_bytes(L.RELEASE_JSON, dumps(release))
    return release


def _stamped(dest_rel: str) -> bool:
    return dest_rel.endswith(".parquet") and dest_rel.startswith((f"{L.DOCUMENTS}/", f"{L.MANIFEST}/"))


def _write(dest: Store, files: dict[str, dict[str, Any]], rel: str, data: bytes) -> None:
    dest.write_bytes(rel, data)
    files[rel] = {"sha256": sha256_bytes(data), "bytes": len(data)}


def _packs(run: Store) -> dict[str, dict[str, Any]]:
    """pack name -> its pack.json, for every finished pack under RUN/packs (verify_run checked them)."""
    names = sorted({rel.split("/", 1)[0] for rel in run.list(L.PACKS) if "/" in rel})
    return {
        n: json.loads(run.read_bytes(f"{L.PACKS}/{n}/pack.json"))
        for n in names
        if run.exists(f"{L.PACKS}/{n}/pack.json")
    }


def _pack_entry(name: str, manifest: dict[str, Any], files: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": name,
        "path": f"{L.PACKS}/{name}",
        "docmaps": f"{L.DOCMAPS}/{name}",
        "tokenizer": manifest.get("tokenizer", {}),
        "dtype": manifest.get("dtype"),
        "languages": {
            lang: {"documents": v.get("documents"), "tokens": v.get("tokens"), "parts": v.get("parts")}
            for lang, v in sorted(manifest.get("languages", {}).items())
        },
        "root_hash": manifest.get("root_hash"),
        "files": sorted(r for r in files if r.startswith((f"{L.PACKS}/{name}/", f"{L.DOCMAPS}/{name}/"))),
    }


def _prepare(dest: Store, overwrite: bool) -> None:
    """The destination must be empty, or hold a release and --overwrite (then only that release's files go)."""
    names = dest.top_level()
    if not names:
        return
    if not dest.exists(L.RELEASE_JSON) and not dest.exists(L.SHA256SUMS):
        raise ReleaseError(f"{dest.root_uri} is not empty and holds no release: choose an empty folder or prefix")
    if not overwrite:
        raise ReleaseError(f"{dest.root_uri} already holds a release; pass --overwrite to replace it")
    old: set[str] = set(L.GENERATED)
    if dest.exists(L.SHA256SUMS):
        old |= {line.split("  ", 1)[1] for line in dest.read_bytes(L.SHA256SUMS).decode().splitlines() if "  " in line}
    for rel in sorted(old):
        if dest.contains(rel):
            dest.delete_file(rel)
    left = dest.list("")
    if left:
        raise ReleaseError(f"{dest.root_uri} holds files no release listed (first: {printable(left[0][:200])})")


def _licence_counts(dest: Store, doc_rels: list[str]) -> dict[str | None, int]:
    counts: dict[str | None, int] = {}
    for rel in doc_rels:
        pf = dest.parquet_file(rel)
        if "licence" not in pf.schema_arrow.names:
            return {}
        for row in pc.value_counts(pf.read(columns=["licence"]).column("licence")).to_pylist():
            counts[row["values"]] = counts.get(row["values"], 0) + row["counts"]
    return counts


def _schema(dest: Store, rels: list[str]) -> pa.Schema:
    """One schema over all files of a table (their footers only)."""
    if not rels:
        return pa.schema([])
    return pa.unify_schemas([dest.parquet_file(r).schema_arrow for r in rels]).remove_metadata()


def rai_fields(run: dict[str, Any], licences: list[dict[str, Any]]) -> dict[str, Any]:
    """Croissant RAI properties, each saying only what run.json shows."""
    stages = {s.get("name"): s for s in run.get("stages", [])}
    inputs = run.get("inputs", [])
    formats = sorted({str(i.get("format")) for i in inputs})
    sources = sorted({str(i.get("source")) for i in inputs if i.get("source")})
    kinds = sorted({"Web Scraping" if f == "warc" else "Secondary Data Analysis" for f in formats})
    counts = run.get("counts", {})
    pii = stages.get("pii", {}).get("params", {})
    unknown = sum(r["documents"] for r in licences if r["training"] == "unknown")
    return {
        "rai:dataCollection": (
            f"{len(inputs)} input files ({', '.join(formats)}; sources: {', '.join(sources) or 'unnamed'}), "
            f"{counts.get('input_records', 0):,} records, processed by the stages {', '.join(stages)}. "
            "Every input record has a manifest row saying whether it was kept, dropped or quarantined, and why."
        ),
        "rai:dataCollectionType": kinds,
        "rai:dataCollectionRawData": [
            f"{i.get('uri', '').rsplit('/', 1)[-1]} sha256:{i.get('sha256')}" for i in inputs
        ],
        "rai:dataPreprocessingProtocol": [f"{n} (version {s.get('version')})" for n, s in stages.items()],
        "rai:personalSensitiveInformation": (
            f"Identifiers of these kinds were replaced with typed placeholders: {', '.join(pii.get('entities', []))}. "
            "Names of people and identifiers without a detection rule remain."
            if "pii" in stages
            else "Personal data was not scrubbed (the run had no pii stage)."
        ),
        "rai:dataUseCases": "Pre-training and continued pre-training of language models (text generation).",
        "rai:dataLimitations": (
            "Language identification, quality filters and PII detection are automatic and make mistakes. "
            f"{unknown:,} kept documents have no detected licence (training class unknown)."
        ),
        "rai:dataBiases": (
            "Documents are what the crawled hosts published and did not opt out of; languages are as unevenly "
            "represented as the counts in README.md show. Heuristic quality filters favour long, "
            "well-punctuated prose."
        ),
        "rai:dataSocialImpact": (
            "Text-and-data-mining opt-outs (EU DSM Directive Art. 4(3)) were honoured by the rights stage."
            if "rights" in stages
            else "Opt-outs were not checked (the run had no rights stage)."
        ),
    }
