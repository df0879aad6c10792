"""`sovereign release RUN --to URI --name N --version V`."""

from __future__ import annotations

import time

import click

from sovereign.pipeline.cli_errors import friendly_errors


@click.command("release")
@click.argument("run")
@click.option("--to", "to", required=True, help="Folder or s3:// prefix for the release (empty, or a release).")
@click.option("--name", required=True, help="Dataset name (the card's title, pretty_name, croissant name).")
@click.option("--version", "version", required=True, help="Release version, e.g. 1.0.0.")
@click.option("--overwrite", is_flag=True, help="Replace a release already at --to (only its own files go).")
@friendly_errors
def release(run: str, to: str, name: str, version: str, overwrite: bool) -> None:
    """Copy a finished, verified RUN (local or s3://) into a release: documents/, manifest/, packs/, docmaps/,
    README.md (dataset card), croissant.json, release.json and SHA256SUMS. The run is not changed."""
    from sovereign.pipeline.release.build import release_run

    start = time.monotonic()
    moved = [0, 0]

    def progress(_rel: str, size: int) -> None:
        moved[0] += 1
        moved[1] += size

    info = release_run(run, to, name, version, overwrite=overwrite, progress=progress)
    secs = max(time.monotonic() - start, 1e-6)
    docs = sum(v["documents"] for v in info["languages"].values())
    click.echo(
        f"release {name} {version}: {docs:,} documents in {len(info['languages'])} languages, "
        f"{len(info['packs'])} packs; copied {moved[0]} files, {moved[1] / 1e6:.1f} MB in {secs:.1f} s "
        f"({moved[1] / 1e6 / secs:.1f} MB/s) to {to}"
    )
    click.echo(f"run root hash {info['run_root_hash']}; checksums in SHA256SUMS, release.json written last")
