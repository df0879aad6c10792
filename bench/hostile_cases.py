"""The hostile inputs bench/hostile.py runs: each case builds, for one size, the input files and a run config from the
project's generators (pipeline/synthetic/hostile_*.py), and checks the promise on the finished run."""

from __future__ import annotations

import html
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from sovereign.pipeline.synthetic import (
    hostile_config,
    hostile_html,
    hostile_ingest,
    hostile_pii,
    hostile_rights,
    hostile_stages,
)

Check = Callable[[Path, int, str], bool]


@dataclass
class Built:
    config: dict[str, Any]
    inputs: list[Path]
    check: Check | None = None
    config_file: Path | None = None  # a prepared config (e.g. a YAML bomb) instead of `config`

    def cli_args(self, cfg_path: Path) -> list[str]:
        return ["run", str(self.config_file or cfg_path)]


@dataclass
class Case:
    name: str
    sizes: list[int]
    promise: str
    build: Callable[[int, Path], Built] = field(repr=False)


def _config(work: Path, inputs: str, stages: list[str], **executor: Any) -> dict[str, Any]:
    return {
        "name": "hostile",
        "inputs": [{"uri": inputs, "source": "hostile"}],
        "output": str(work / "run"),
        "executor": {"kind": "local", "workers": 1, **executor},
        "stages": [{"name": s} for s in stages],
    }


def _manifest(work: Path) -> list[dict[str, Any]]:
    return [r for f in sorted((work / "run").glob("manifest/*.parquet")) for r in pq.read_table(f).to_pylist()]


def _all_output_text(work: Path) -> str:
    """Every cell of every Parquet file of the run, decoded, plus run.json."""
    parts = []
    for f in sorted((work / "run").rglob("*.parquet")):
        for row in pq.read_table(f).to_pylist():
            parts.append(json.dumps(row, default=str, ensure_ascii=False))
    run_json = work / "run" / "run.json"
    if run_json.exists():
        parts.append(run_json.read_text())
    return "\n".join(parts)


def _warc(work: Path, pages: list[tuple[str, bytes]]) -> Path:
    path = work / "in" / "crawl.warc.gz"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(hostile_ingest.warc_pages(pages))
    return path


def _friendly_pages(n: int) -> list[tuple[str, bytes]]:
    return [(f"https://www.beispiel.de/seite/{i}", hostile_ingest.page(i)) for i in range(n)]


def _counts_reconcile(work: Path, code: int, out: str) -> bool:
    run = json.loads((work / "run" / "run.json").read_text()) if (work / "run" / "run.json").exists() else None
    return code == 0 and run is not None and run["counts"]["input_records"] == len(_manifest(work))


# --- cases ---------------------------------------------------------------------------------------------------


def friendly(size: int, work: Path) -> Built:
    warc = _warc(work, _friendly_pages(size))
    return Built(_config(work, str(warc), ["extract", "langid", "quality", "rights", "pii"]), [warc], _counts_reconcile)


def furniture_line(size: int, work: Path) -> Built:
    line = "share," * size + "x"  # a single boilerplate-looking line: exponential in the old furniture regex
    body = hostile_ingest.page(0).replace(b"</main>", f"<p>{line}</p></main>".encode())
    warc = _warc(work, [("https://www.beispiel.de/share", body), *_friendly_pages(3)])
    return Built(_config(work, str(warc), ["extract"]), [warc], _counts_reconcile)


def nested_divs(size: int, work: Path) -> Built:
    warc = _warc(work, [("https://www.beispiel.de/tief", hostile_html.nested_divs(size)), *_friendly_pages(3)])
    return Built(_config(work, str(warc), ["extract", "rights"]), [warc], _counts_reconcile)


def attribute_flood(size: int, work: Path) -> Built:
    warc = _warc(work, [("https://www.beispiel.de/attr", hostile_html.attribute_flood(size)), *_friendly_pages(3)])
    return Built(_config(work, str(warc), ["extract", "rights"]), [warc], _counts_reconcile)


def optout_after_deep_subtree(size: int, work: Path) -> Built:
    url = "https://www.beispiel.de/optout"
    warc = _warc(work, [(url, hostile_html.optout_after_deep_subtree(size, "tdm-meta")), *_friendly_pages(3)])

    def check(work: Path, code: int, out: str) -> bool:
        rows = [r for r in _manifest(work) if r["url"] == url]
        return code == 0 and len(rows) == 1 and rows[0]["reason"] == "rights:tdm-reservation-meta"

    return Built(_config(work, str(warc), ["extract", "rights"]), [warc], check)


def email_dotted_run(size: int, work: Path) -> Built:
    text = hostile_pii.dotted_run_text(size)
    body = f"<html><body><main><p>{html.escape(text)}</p></main></body></html>".encode()
    warc = _warc(work, [("https://www.beispiel.de/kontakt", body), *_friendly_pages(3)])

    def check(work: Path, code: int, out: str) -> bool:
        everything = _all_output_text(work) + out
        return code == 0 and not any(v in everything for v in hostile_pii.SEEDED)

    return Built(_config(work, str(warc), ["extract", "pii"]), [warc], check)


def jsonl_deep_line(size: int, work: Path) -> Built:
    path = work / "in" / "docs.jsonl"
    path.parent.mkdir(parents=True)
    path.write_bytes(hostile_ingest.jsonl_deep_line(1001, depth=size))

    def check(work: Path, code: int, out: str) -> bool:
        return _counts_reconcile(work, code, out) and len(_manifest(work)) == 1001

    return Built(_config(work, str(path), ["extract"]), [path], check)


def warc_lying_length(size: int, work: Path) -> Built:
    path = work / "in" / "crawl.warc.gz"
    path.parent.mkdir(parents=True)
    path.write_bytes(hostile_ingest.warc_lying_length(size))

    def check(work: Path, code: int, out: str) -> bool:
        kept = sum(r["status"] == "kept" for r in _manifest(work))
        return _counts_reconcile(work, code, out) and len(_manifest(work)) == size and kept == size - 1

    return Built(_config(work, str(path), ["extract"]), [path], check)


def gzip_bomb(size: int, work: Path) -> Built:
    path = work / "in" / "bomb.warc.gz"
    path.parent.mkdir(parents=True)
    path.write_bytes(hostile_ingest.warc_gzip_bomb(size))

    def check(work: Path, code: int, out: str) -> bool:
        rows = _manifest(work)
        return code == 0 and len(rows) == 1 and rows[0]["status"] == "quarantined"

    return Built(_config(work, str(path), ["extract"]), [path], check)


def big_robots(size: int, work: Path) -> Built:
    path = work / "in" / "crawl.warc.gz"
    path.parent.mkdir(parents=True)
    path.write_bytes(hostile_ingest.warc_big_robots(size, body_mib=4))
    return Built(_config(work, str(path), ["extract", "rights"]), [path], _counts_reconcile)


def yaml_alias_bomb(size: int, work: Path) -> Built:
    path = work / "bomb.yaml"
    path.write_bytes(hostile_config.alias_bomb_yaml(size))

    def check(work: Path, code: int, out: str) -> bool:
        return code != 0 and len(out.strip().splitlines()) == 1  # a one-line config error, no run

    return Built({}, [path], check, config_file=path)


def stalling_stage(size: int, work: Path) -> Built:
    """A stage stuck in C on one document among `size`: the document is quarantined, the others kept."""
    path = work / "in" / "docs.jsonl"
    path.parent.mkdir(parents=True)
    rows = hostile_stages.documents(size, (hostile_stages.STALL,))
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    cfg = _config(
        work, str(path), ["sovereign.pipeline.synthetic.hostile_stages:Misbehave"], doc_timeout_s=5, batch_size=64
    )

    def check(work: Path, code: int, out: str) -> bool:
        rows = _manifest(work)
        bad = [r for r in rows if r["status"] != "kept"]
        return code == 0 and len(rows) == size + 1 and [r["reason"] for r in bad] == ["error:timeout"]

    return Built(cfg, [path], check)


def tdmrep_rules(size: int, work: Path) -> Built:
    host = "https://www.beispiel.de"
    pages = [
        hostile_rights.Page(
            f"{host}/.well-known/tdmrep.json", hostile_rights.many_rules_tdmrep(size), content_type="application/json"
        )
    ]
    pages += [hostile_rights.Page(f"{host}/s{i}/page", hostile_ingest.page(i)) for i in range(200)]
    path = work / "in" / "crawl.warc.gz"
    path.parent.mkdir(parents=True)
    path.write_bytes(hostile_rights.warc_bytes(pages))

    def check(work: Path, code: int, out: str) -> bool:
        reasons = {r["reason"] for r in _manifest(work) if r["url"] and "/page" in r["url"]}
        return _counts_reconcile(work, code, out) and reasons <= {None, "rights:tdm-reservation-file"}

    return Built(_config(work, str(path), ["extract", "rights"]), [path], check)


def pii_in_rights_signals(size: int, work: Path) -> Built:
    pages = hostile_rights.pii_signal_pages(size)
    path = work / "in" / "crawl.warc.gz"
    path.parent.mkdir(parents=True)
    path.write_bytes(hostile_rights.warc_bytes(pages))

    def check(work: Path, code: int, out: str) -> bool:
        everything = _all_output_text(work) + out
        return _counts_reconcile(work, code, out) and not any(v in everything for v in hostile_rights.SEEDED)

    return Built(_config(work, str(path), ["extract", "rights", "pii"]), [path], check)


CASES: list[Case] = [
    Case("friendly", [50, 200, 800], "normal pages: the anchor the hostile rows compare with", friendly),
    Case(
        "furniture-line",
        [1_000, 4_000, 16_000],
        "one 'share,'*n line: linear in the boilerplate cleaner",
        furniture_line,
    ),
    Case("nested-divs", [4_000, 16_000, 64_000], "n nested <div>: linear in extract and the rights scan", nested_divs),
    Case("attribute-flood", [10_000, 40_000, 160_000], "one <p> with n attributes: linear", attribute_flood),
    Case(
        "optout-deep",
        [300, 3_000, 30_000],
        "tdm-reservation meta after n nested <div>: page dropped",
        optout_after_deep_subtree,
    ),
    Case(
        "email-dotted-run",
        [1_500, 6_000, 24_000],
        "'aaaaaa1.'*n then e-mails/IBAN/phone: no value in any output",
        email_dotted_run,
    ),
    Case(
        "jsonl-deep-line",
        [10_000, 100_000, 1_000_000],
        "one JSONL line nested n deep among 1,001: 1,001 rows",
        jsonl_deep_line,
    ),
    Case(
        "warc-lying-length",
        [10, 100, 1_000],
        "n records, one with a false Content-Length: n rows, n-1 kept",
        warc_lying_length,
    ),
    Case("gzip-bomb", [64, 256, 1_024], "one record inflating to n MiB: quarantined, memory flat", gzip_bomb),
    Case("big-robots", [2, 8, 32], "n hosts with a 4 MiB robots.txt each: memory flat", big_robots),
    Case(
        "yaml-alias-bomb", [6, 9, 12], "a config of 9^n aliased strings: one-line error, memory flat", yaml_alias_bomb
    ),
    Case(
        "tdmrep-rules",
        [180, 1_800, 18_000],
        "a tdmrep.json of n rules, 200 pages: per-page lookup independent of n",
        tdmrep_rules,
    ),
    Case(
        "pii-in-rights-signals",
        [1, 4, 16],
        "n hosts whose opt-out headers/meta/tdmrep/licences carry PII: none in any output",
        pii_in_rights_signals,
    ),
    Case(
        "stalling-stage",
        [100, 400, 1_600],
        "one document stalls a stage in C among n: quarantined error:timeout",
        stalling_stage,
    ),
]
