"""`sovereign pull`: the command and its progress display (the work is in pull.py)."""

from __future__ import annotations

import sys
from typing import Any

import click

from sovereign.pipeline.cli_errors import friendly_errors
from sovereign.pipeline.runinfo import printable

MB = 1_000_000
EXIT_MISMATCH = 2  # pipeline.cli's EXIT_VERIFY_FAILED: a file does not match its checksum


def _names(value: str | None) -> list[str] | None:
    return [v for v in value.split(",") if v.strip()] if value else None


class _Progress:
    """Files done of all, MB and MB/s with rich on stderr (a bar on a terminal, nothing otherwise)."""

    def __init__(self) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TransferSpeedColumn,
        )

        self.console = Console(stderr=True)
        self.progress = Progress(
            TextColumn("pull"),
            BarColumn(),
            TextColumn("{task.fields[files]}"),
            DownloadColumn(binary_units=False),
            TransferSpeedColumn(),
            TimeElapsedColumn(),
            console=self.console,
            disable=not self.console.is_terminal,
        )
        self.task: Any = None
        self.done = 0
        self.total_files = 0

    def plan(self, files: int, total_bytes: int) -> None:
        self.total_files = files
        self.task = self.progress.add_task("pull", total=total_bytes, files=f"0/{files} files")
        self.progress.start()

    def advance(self, n: int) -> None:
        self.progress.update(self.task, advance=n)

    def file_done(self, _res: Any) -> None:
        self.done += 1
        self.progress.update(self.task, files=f"{self.done}/{self.total_files} files")

    def close(self) -> None:
        self.progress.stop()


@click.command("pull")
@click.argument("uri", metavar="URI")
@click.option("--to", "to", required=True, metavar="DIR", help="Local folder to download into (created if absent).")
@click.option("--lang", metavar="XX,YY", help="Only the documents (and pack parts) of these languages.")
@click.option("--packs", metavar="NAME,...", help="Also the named packs (Megatron .bin/.idx) and their doc maps.")
@click.option("--manifest", is_flag=True, help="Also the manifest (one row per input record).")
@click.option("--workers", type=click.IntRange(min=1), default=8, show_default=True, help="Parallel downloads.")
@click.option("--endpoint-url", metavar="URL", help="S3 endpoint for s3:// releases (default: $AWS_ENDPOINT_URL).")
@click.option("--region", metavar="REGION", help="S3 region (default: $AWS_DEFAULT_REGION).")
@friendly_errors
def pull_cmd(
    uri: str,
    to: str,
    lang: str | None,
    packs: str | None,
    manifest: bool,
    workers: int,
    endpoint_url: str | None,
    region: str | None,
) -> None:
    """Download the release at URI (a local path or s3://bucket/prefix) into DIR, checking every file against the
    release's SHA256SUMS (which must agree with release.json) before it gets its name. Always fetches the card
    (README.md), croissant.json, run.json, SHA256SUMS and release.json; the documents of --lang (default: all);
    the manifest with --manifest; packs named by --packs. Files already in DIR with the right sha256 are kept, so
    running it again resumes; a wrong local file is fetched again. A download that does not match its sha256 is
    retried once, then reported; the exit code is then 2."""
    from sovereign.pipeline.pull import pull
    from sovereign.pipeline.storage import S3Settings

    progress = _Progress()
    try:
        result = pull(
            uri,
            to,
            langs=_names(lang),
            packs=_names(packs),
            manifest=manifest,
            workers=workers,
            settings=S3Settings.from_env(endpoint_url, region),
            on_plan=progress.plan,
            on_bytes=progress.advance,
            on_file=progress.file_done,
        )
    finally:
        progress.close()
    mb = result.fetched_bytes / MB
    rate = mb / result.seconds if result.seconds > 0 else 0.0
    click.echo(
        f"{len(result.files)} files: {result.count('fetched')} fetched, {result.count('present')} already present, "
        f"{result.count('refetched')} re-fetched (local copy was wrong), {len(result.failures)} failed; "
        f"{mb:,.1f} MB in {result.seconds:,.1f} s ({rate:,.1f} MB/s)"
    )
    if result.failures:
        for f in result.failures:
            click.echo(f"FAIL: {printable(f.message)}", err=True)
        click.echo("the release does not match its checksums; nothing that failed was kept", err=True)
        sys.exit(EXIT_MISMATCH)
    click.echo(f"OK: every file matches the release's {printable('SHA256SUMS')}")
