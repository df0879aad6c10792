"""``sovereign audit explain RUN URL_OR_ID``: a document's fate, and the evidence and policy rule behind it, in
plain words for a legal reviewer. Reads RUN/manifest/part-*.parquet (with DuckDB) and RUN/run.json."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sovereign.pipeline import duck
from sovereign.pipeline.runinfo import printable
from sovereign.stages.rights.reasons import REASONS  # the rights stage's declared reasons, in plain words


def _ran_pii(run: Path) -> bool:
    try:
        stages = json.loads((run / "run.json").read_text()).get("stages") or []
        return any(isinstance(s, dict) and s.get("name") == "pii" for s in stages)
    except (OSError, ValueError, AttributeError):
        return False


def _find_rows(run: Path, url_or_id: str) -> list[dict[str, Any]]:
    parts = sorted((run / "manifest").glob("part-*.parquet"))
    if not parts:
        raise LookupError(f"{run}: no manifest (expected {run / 'manifest' / 'part-*.parquet'})")
    con = duck.connect(threads=None)
    try:
        cur = con.execute(
            "SELECT * FROM read_parquet(?) WHERE id = ? OR url = ? ORDER BY id",
            [[str(p) for p in parts], url_or_id, url_or_id],
        )
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
    finally:
        con.close()


def _clean(value: Any) -> Any:
    """Every string from the run's data (crawled URLs, headers quoted in evidence, run.json) with control characters
    escaped, so that printing it cannot send terminal escape sequences or forge lines of the explanation."""
    if isinstance(value, str):
        return printable(value)
    if isinstance(value, dict):
        return {printable(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


def _stage_info(run: Path, stage: str | None) -> dict[str, Any]:
    try:
        meta = json.loads((run / "run.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    stages = meta.get("stages") if isinstance(meta, dict) else None
    for s in stages if isinstance(stages, list) else []:
        if isinstance(s, dict) and s.get("name") == stage:
            return _clean(s)
    return {}


def _plain(value: Any, indent: str = "    ") -> list[str]:
    if isinstance(value, dict):
        out = []
        for k in sorted(value):
            v = value[k]
            if isinstance(v, dict | list) and v:
                out.append(f"{indent}{k}:")
                out += _plain(v, indent + "  ")
            else:
                out.append(f"{indent}{k}: {v}")
        return out
    if isinstance(value, list):
        return [f"{indent}- {json.dumps(v, ensure_ascii=False) if isinstance(v, dict | list) else v}" for v in value]
    return [f"{indent}{value}"]


def _rights_evidence(evidence: Any) -> dict[str, Any] | None:
    if not isinstance(evidence, dict):
        return None
    for key in ("_rights_evidence", "rights"):
        inner = evidence.get(key)
        if isinstance(inner, str):
            try:
                inner = json.loads(inner)
            except ValueError:
                inner = None
        if isinstance(inner, dict):
            return _clean(inner)  # parsed from a string inside the evidence: not cleaned yet
    return evidence if "checks" in evidence else None


def _explain_row(run: Path, row: dict[str, Any]) -> list[str]:
    raw_evidence = row.get("evidence")
    row = _clean(row)
    lines = [
        f"Document {row['id']}",
        f"  URL: {row.get('url') or '(none)'}",
        f"  Source record: {row.get('source_uri') or '(unknown)'}",
    ]
    try:
        evidence = json.loads(raw_evidence) if raw_evidence else None
    except (ValueError, RecursionError):
        evidence = raw_evidence
    evidence = _clean(evidence)
    status = row.get("status")
    stage, reason = row.get("stage"), row.get("reason")
    if status == "kept":
        where = f" in {row['shard']} row {row['row']}" if row.get("shard") else ""
        lines.append(f"  Fate: KEPT{where}.")
        lines.append(f"  Licence: {row.get('licence') or 'none found'}")
        rights = _rights_evidence(evidence)
        if rights:
            lic = (rights.get("checks") or {}).get("licence") or {}
            if lic.get("signal"):
                lines.append(
                    f"  The licence was read from: {lic['signal']} ({lic.get('where')}); "
                    f"training under it: {lic.get('training')}; rule: {lic.get('rule')}"
                )
            elif lic.get("rule"):
                lines.append(f"  No licence was found; it was kept under the policy rule {lic['rule']}.")
            lines.append("  Rights checks performed (none refused the use):")
            lines += _plain(rights.get("checks") or {})
        elif evidence:
            lines.append("  Evidence recorded:")
            lines += _plain(evidence)
    else:
        verb = "DROPPED" if status == "dropped" else "QUARANTINED (could not be processed)"
        lines.append(f"  Fate: {verb} by stage '{stage}', reason '{reason}'.")
        if reason in REASONS:
            lines.append(f"  In plain words: {REASONS[reason]}.")
        if isinstance(evidence, dict):
            if evidence.get("policy_rule"):
                lines.append(f"  Policy rule applied: {evidence['policy_rule']}")
            if evidence.get("signal") is not None:
                lines.append("  The exact signal:")
                lines += _plain(evidence["signal"])
            if evidence.get("other_signals"):
                lines.append(f"  Other signals that would also have refused it: {', '.join(evidence['other_signals'])}")
            rest = {k: v for k, v in evidence.items() if k not in ("policy_rule", "signal", "other_signals")}
            if rest:
                lines.append("  Further evidence:")
                lines += _plain(rest)
        elif evidence:
            lines.append(f"  Evidence: {evidence}")
    info = _stage_info(run, stage if status != "kept" else "rights")
    if info.get("policy_sha256"):
        lines.append(
            f"  Policy in force: sha256 {info['policy_sha256']} (stage {info.get('name')} "
            f"version {info.get('version')}; licence registry sha256 {info.get('registry_sha256')})"
        )
    elif info:
        lines.append(f"  Stage version: {info.get('name')} {info.get('version')}")
    return lines


def explain(run_dir: str, url_or_id: str) -> str:
    """Plain-words account of what the run decided about a document (by id or URL); LookupError if absent."""
    run = Path(run_dir)
    rows = _find_rows(run, url_or_id)
    if not rows and any(c in url_or_id for c in "?#@") and _ran_pii(run):
        # The manifest holds URLs with personal data replaced (pii stage): look the URL up the same way.
        from sovereign.stages.pii import scrub_url

        rows = _find_rows(run, scrub_url(url_or_id))
    if not rows:
        raise LookupError(f"no document with id or URL {printable(repr(url_or_id))} in the manifest of {run}")
    blocks = ["\n".join(_explain_row(run, row)) for row in rows]
    return "\n\n".join(blocks) + "\n"
