"""Progress bars while a run works and the summary table when it ends (rich, on stderr/stdout)."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from sovereign.pipeline import status
from sovereign.pipeline.engine import Hooks, RunResult


class ConsoleHooks:
    def __init__(self) -> None:
        self.console = Console(stderr=True)
        self.progress = Progress(
            TextColumn("{task.description:<16}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[info]}"),
            TimeElapsedColumn(),
            console=self.console,
            transient=False,
            disable=not self.console.is_terminal,
        )
        self.task: Any = None
        self.records = 0
        self.progress.start()

    def hooks(self) -> Hooks:
        return Hooks(phase=self._phase, advance=self._advance)

    def _phase(self, name: str, total: int) -> None:
        if self.task is not None:
            self.progress.update(self.task, completed=self.progress.tasks[-1].total)
        self.task = self.progress.add_task(name, total=total, info="")
        if not self.console.is_terminal:
            self.console.print(f"[sovereign] {name}: {total} work units")

    def _advance(self, summary: dict[str, Any]) -> None:
        if isinstance(summary, dict) and "records" in summary:
            self.records += summary["records"]
            info = f"{self.records:,} records"
        else:
            info = ""
        self.progress.update(self.task, advance=1, info=info)

    def close(self) -> None:
        self.progress.stop()


# Manifest reasons of records that are not documents (WARC request/warcinfo/metadata records, robots.txt and
# tdmrep.json captures): the manifest lists them as dropped, the summary apart from the documents a stage dropped.
NOT_DOCUMENTS = status.NOT_DOCUMENTS


def print_summary(result: RunResult) -> None:
    run = result.run_json
    counts = run["counts"]
    console = Console()
    rates = status.work_rates(run)
    table = Table(title=f"Sovereign run '{run['name']}' ({run['executor']} executor)", show_lines=False)
    table.add_column("", style="bold")
    table.add_column("records", justify="right")
    not_docs = {r: counts["by_reason"].get("ingest", {}).get(r, 0) for r in NOT_DOCUMENTS}
    table.add_row("input records", f"{counts['input_records']:,}")
    table.add_row("not documents", f"{sum(not_docs.values()):,}")
    for reason, n in not_docs.items():
        if n:
            table.add_row(f"  {reason}", f"{n:,}")
    table.add_row("documents", f"{counts['input_records'] - sum(not_docs.values()):,}")
    table.add_row("kept", f"{counts['kept']:,}")
    for stage, reasons in counts["by_reason"].items():
        for reason, n in reasons.items():
            if reason in NOT_DOCUMENTS:
                continue
            table.add_row(f"  {reason}" if reason.startswith(f"{stage}:") else f"  {stage}: {reason}", f"{n:,}")
    table.add_row("dropped documents", f"{counts['dropped'] - sum(not_docs.values()):,}")
    table.add_row("quarantined", f"{counts['quarantined']:,}")
    table.add_row("input MB", f"{rates['input_mb']:,.2f}")
    # Rates of the document map phase per worker, from the units' own seconds: worker start-up and model loading
    # (most of a small run's wall time) are not in them, so they do not read as slowness (issue 11).
    for label, key, fmt in (
        ("docs/s per worker (map)", "docs_per_s_per_worker", ",.1f"),
        ("MB/s per worker (map)", "mb_per_s_per_worker", ",.2f"),
    ):
        table.add_row(label, format(rates[key], fmt) if rates[key] is not None else "-")
    table.add_row("work phases, wall s", f"{rates['work_wall_s']:,.1f}")
    if result.resumed_units:
        table.add_row("resumed work units", f"{result.resumed_units:,}")
    console.print(table)
    console.print(f"run: {result.run_uri}  root hash: {run['root_hash'][:16]}…")
