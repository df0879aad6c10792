"""The `sovereign` command line."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click

from sovereign.pipeline.cli_errors import friendly_errors
from sovereign.pipeline.config import RunConfig, load_config
from sovereign.pipeline.runinfo import printable
from sovereign.pipeline.synthetic import MAX_PAGES as DEMO_MAX_PAGES
from sovereign.pipeline.synthetic import MIN_PAGES as DEMO_MIN_PAGES

EXIT_FAILURE = 1
EXIT_VERIFY_FAILED = 2


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="Show full tracebacks on errors.")
@click.version_option(package_name="sovereign")
@click.pass_context
def main(ctx: click.Context, debug: bool) -> None:
    """Sovereign: trustworthy multilingual training corpora from European web and public-sector text.

    Runs a YAML-configured pipeline (extract, language ID, quality, rights, PII, dedup) on one machine or on a
    Spark or Ray cluster, and records every document's fate in a manifest that `sovereign audit` can check.
    """
    ctx.obj = {"debug": debug}


def _apply_overrides(
    cfg: RunConfig, inputs: tuple[str, ...], out: str | None, executor: str | None, workers: int | None
) -> RunConfig:
    data = cfg.model_dump(mode="json")
    if inputs:
        data["inputs"] = [{"uri": u} for u in inputs]
    if out:
        data["output"] = out
    if executor:
        data["executor"]["kind"] = executor
    if workers is not None:
        data["executor"]["workers"] = workers
    from sovereign.pipeline.config import parse_config

    return parse_config(data, "command line")


def _execute(cfg: RunConfig, overwrite: bool, force_out: bool = False) -> None:
    from sovereign.pipeline.engine import run_pipeline
    from sovereign.pipeline.progress import ConsoleHooks, print_summary

    hooks = ConsoleHooks()
    try:
        result = run_pipeline(cfg, overwrite=overwrite, force_out=force_out, hooks=hooks.hooks())
    finally:
        hooks.close()
    print_summary(result)


@main.command("run")
@click.argument("config", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("more_inputs", nargs=-1, metavar="[INPUT]...")
@click.option(
    "--input",
    "inputs",
    multiple=True,
    metavar="URI",
    help="Input file, glob or prefix (repeatable); replaces the config's inputs. Local paths, file:// or s3://. "
    "Several may follow one --input, as a shell-expanded glob does (--input crawl/*.warc.gz).",
)
@click.option("--out", metavar="URI", help="Run directory (local path or s3://bucket/prefix); overrides `output`.")
@click.option("--executor", type=click.Choice(["local", "spark", "ray"]), help="Overrides `executor.kind`.")
@click.option("--workers", type=int, help="Parallel work units for the local executor (0 = all cores).")
@click.option(
    "--overwrite",
    is_flag=True,
    help="Replace a finished run, or an unfinished run of another config (only files a run wrote are deleted).",
)
@click.option(
    "--force-out",
    is_flag=True,
    help="Write into an --out that holds other files and no run (they are left alone, never deleted).",
)
@click.option(
    "--dry-run",
    is_flag=True,
    help="List the work units (input files and sizes), the stages (version, params) and the outputs, and what the "
    "run would do with the output (start, resume, refuse); run nothing and write nothing.",
)
@click.option(
    "--show-units",
    type=click.IntRange(min=0),
    default=10,
    show_default=True,
    metavar="N",
    help="With --dry-run: how many work units to list.",
)
@click.option("--json", "as_json", is_flag=True, help="With --dry-run: print the plan as JSON.")
@friendly_errors
def run_cmd(
    config: Path,
    more_inputs: tuple[str, ...],
    inputs: tuple[str, ...],
    out: str | None,
    executor: str | None,
    workers: int | None,
    overwrite: bool,
    force_out: bool,
    dry_run: bool,
    show_units: int,
    as_json: bool,
) -> None:
    """Run the pipeline described by CONFIG (YAML), on the config's inputs or on INPUT... / --input.

    A run that was killed resumes where it stopped when started again with the same config and output;
    `sovereign status OUT` shows how far it got. Relative paths in the config are relative to the current
    directory. The summary's rates are per worker, over the document phase's own seconds (not start-up or model
    loading).
    """
    cfg = _apply_overrides(load_config(config), inputs + more_inputs, out, executor, workers)
    if dry_run:
        from sovereign.pipeline.dryrun import plan, render

        p = plan(cfg, show_units, force_out)
        click.echo(json.dumps(p, indent=2) if as_json else "\n".join(printable(line) for line in render(p)))
        return
    _execute(cfg, overwrite, force_out)


@main.command("status")
@click.argument("run", metavar="RUN")
@click.option("--endpoint-url", metavar="URL", help="S3 endpoint for s3:// runs (default: $AWS_ENDPOINT_URL).")
@click.option("--region", metavar="REGION", help="S3 region (default: $AWS_DEFAULT_REGION).")
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON.")
@friendly_errors
def status_cmd(run: str, endpoint_url: str | None, region: str | None, as_json: bool) -> None:
    """Show how far the run in RUN (the run's --out: a local path or s3://bucket/prefix) got: work units done of
    all, the phase (host captures, documents, reduce, shards, manifest, finished), and whether a live run holds
    it. Reads only: safe while the run works, and on a run that was killed (start it again to resume)."""
    from sovereign.pipeline.status import render_status, run_status
    from sovereign.pipeline.storage import S3Settings

    st = run_status(run, S3Settings.from_env(endpoint_url, region))
    click.echo(json.dumps(st, indent=2) if as_json else "\n".join(printable(line) for line in render_status(st)))


@main.command("demo")
@click.option(
    "--out",
    default="demo-out",
    show_default=True,
    metavar="DIR",
    help="Where the demo corpus and the run go (DIR/corpus, DIR/run).",
)
@click.option("--executor", type=click.Choice(["local", "spark", "ray"]), default="local", show_default=True)
@click.option(
    "--pages",
    type=click.IntRange(DEMO_MIN_PAGES, DEMO_MAX_PAGES),
    default=None,
    help="Pages in the generated demo crawl (default: the generator's; fewer than the minimum cannot hold every "
    "planted case).",
)
@click.option("--overwrite/--no-overwrite", default=True, show_default=True, help="Replace an earlier demo run.")
@friendly_errors
def demo_cmd(out: str, executor: str, pages: int | None, overwrite: bool) -> None:
    """Generate the synthetic European demo crawl (if absent) and run every stage on it, offline."""
    from sovereign.pipeline.demo import demo_config

    cfg = demo_config(Path(out), executor=executor, pages=pages)
    _execute(cfg, overwrite)


@main.group("audit")
def audit_group() -> None:
    """Check and explain finished runs."""


@audit_group.command("verify")
@click.argument("run", metavar="RUN")
@friendly_errors
def verify_cmd(run: str) -> None:
    """Recompute every output's sha256 and the root hash, and check that input records = kept + dropped +
    quarantined. Exits non-zero with the precise mismatch on any problem."""
    from sovereign.pipeline.audit import verify_run
    from sovereign.pipeline.runinfo import printable

    problems, facts = verify_run(run)
    for line in facts:
        click.echo(printable(line))  # facts and problems quote paths and URIs from run.json
    if problems:
        for p in problems:
            click.echo(f"FAIL: {printable(p)}", err=True)
        sys.exit(EXIT_VERIFY_FAILED)
    click.echo("OK: all outputs match run.json, the root hash and the record counts")


@audit_group.command("explain")
@click.argument("run", metavar="RUN")
@click.argument("key", metavar="URL-OR-ID")
@friendly_errors
def explain_cmd(run: str, key: str) -> None:
    """Explain, in plain words, what happened to one document (by URL or id) and why."""
    from sovereign.pipeline.explain import explain

    click.echo(explain(run, key))


@main.command(
    "driver", hidden=True, context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False}
)
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def spark_driver_cmd(args: tuple[str, ...]) -> None:
    """Spark on Kubernetes starts the image's entrypoint with `driver ...` in the driver pod (infra/k8s)."""
    from sovereign.pipeline.spark_pod import driver_argv

    argv = driver_argv(list(args))
    os.execv(argv[0], argv)


@main.command("executor", hidden=True, context_settings={"ignore_unknown_options": True})
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def spark_executor_cmd(args: tuple[str, ...]) -> None:
    """Spark on Kubernetes starts the image's entrypoint with `executor` in each executor pod (infra/k8s)."""
    from sovereign.pipeline.spark_pod import executor_argv

    argv = executor_argv()
    os.execvp(argv[0], argv)


from sovereign.pipeline.packs.cli import pack, tokenizer  # noqa: E402 - after main, which these join

main.add_command(tokenizer)
main.add_command(pack)
from sovereign.pipeline.pull_cli import pull_cmd  # noqa: E402 - part 12D: `sovereign pull`

main.add_command(pull_cmd)
from sovereign.pipeline.release.cli import release  # noqa: E402 - part 12A: `sovereign release`

main.add_command(release)

if __name__ == "__main__":
    main()
