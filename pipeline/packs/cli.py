"""Click commands: ``sovereign tokenizer train`` and ``sovereign pack`` (registered in pipeline/cli.py). Errors go to
the CLI's shared handler (one line, exit 1; a traceback with --debug)."""

from __future__ import annotations

import time

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from sovereign.pipeline.cli_errors import friendly_errors
from sovereign.pipeline.packs.train import EOD_TOKEN

console = Console(stderr=True)


@click.group()
def tokenizer() -> None:
    """Tokenizers for a run's packs."""


@tokenizer.command("train")
@click.argument("run")
@click.option("--vocab-size", type=click.IntRange(min=257), required=True, help="Vocabulary size incl. special tokens.")
@click.option("--out", required=True, help="Where to write tokenizer.json (path or URI).")
@click.option(
    "--bytes-per-language",
    type=click.IntRange(min=1),
    default=200_000_000,
    show_default=True,
    help="Text budget sampled from each language (deterministic: by a hash of the document id).",
)
@click.option("--language", "languages", multiple=True, help="Only these languages (repeatable); default: all.")
@click.option(
    "--min-frequency",
    type=click.IntRange(min=1),
    default=2,
    show_default=True,
    help="Merge a pair only if it occurs at least this often in the sample.",
)
@friendly_errors
def train_cmd(
    run: str, vocab_size: int, out: str, bytes_per_language: int, languages: tuple[str, ...], min_frequency: int
) -> None:
    """Train a byte-level BPE tokenizer on the shards of finished run RUN.

    Offline, deterministic (same run + options -> same tokenizer.json bytes), GPT-2 style byte-level BPE with
    the end-of-document token <|endoftext|> as id 0. Next: sovereign pack RUN --tokenizer OUT.
    """
    from sovereign.pipeline.packs.train import train_tokenizer

    started = time.monotonic()
    report = train_tokenizer(run, vocab_size, out, bytes_per_language, list(languages) or None, min_frequency)
    table = Table(title=f"tokenizer {report.sha256[:16]} ({report.vocab_size} tokens)")
    for col in ("language", "documents", "MB sampled"):
        table.add_column(col, justify="right")
    for lang in sorted(report.docs):
        table.add_row(lang, str(report.docs[lang]), f"{report.bytes[lang] / 1e6:.2f}")
    console.print(table)
    console.print(f"wrote {out} in {time.monotonic() - started:.1f}s")


@click.command("pack")
@click.argument("run")
@click.option("--tokenizer", "tokenizer_file", required=True, help="tokenizer.json (path or URI).")
@click.option(
    "--device",
    type=click.Choice(["cpu", "hf", "cuda", "numpy"]),
    default="cpu",
    show_default=True,
    help="cpu: our pre-token split and word cache with HF tokenizers' BPE, one process per core (uses hf for a "
    "tokenizer.json it cannot reproduce); hf: HF tokenizers' encode_batch on all cores; cuda: our array-program "
    "BPE on a GPU (CuPy); numpy: the same array program on the CPU (for checking). All give identical bytes.",
)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=None,
    help="Processes for --device cpu [default: one per core, fewer for small runs].",
)
@click.option("--out", default=None, help="Output folder or URI [default: RUN/packs/<name or sha256 prefix>].")
@click.option("--name", default=None, help="Name of the pack folder under RUN/packs.")
@click.option(
    "--max-part-bytes",
    type=click.IntRange(min=1),
    default=1 << 30,
    show_default="1 GiB",
    help="Start a new .bin/.idx part before a part's .bin passes this many bytes.",
)
@click.option("--eod-token", default=EOD_TOKEN, show_default=True, help="End-of-document token appended to each doc.")
@click.option(
    "--split-special/--no-split-special",
    default=False,
    show_default=True,
    help="Map special-token text inside documents to the special ids (HF default). Off: a document cannot forge "
    "an end-of-document token.",
)
@click.option("--overwrite", is_flag=True, help="Replace a finished pack in the output folder.")
@click.option(
    "--executor",
    type=click.Choice(["local", "spark", "ray"]),
    default="local",
    show_default=True,
    help="Where the pack's tasks run (one per row group to encode, one per part to write); an interrupted pack "
    "resumes with the parts it finished.",
)
@click.option(
    "--weights",
    default=None,
    help="Per-language sampling weights for Megatron's --data-path blend, e.g. de=0.3,fr=0.2 (Megatron normalises "
    "them; languages not named are packed but left out of the blend) [default: each language's share of tokens].",
)
@click.option(
    "--cap-tokens",
    default=None,
    help="Per-language token caps, e.g. de=1e9: a capped language keeps whole documents in id order while its "
    "tokens (separators included) stay within the cap.",
)
@click.option(
    "--mixture",
    "mixture_file",
    default=None,
    help="YAML file with `weights:` and/or `cap_tokens:` maps (language -> number); --weights/--cap-tokens "
    "override it per language.",
)
@friendly_errors
def pack(
    run: str,
    tokenizer_file: str,
    device: str,
    workers: int | None,
    out: str | None,
    name: str | None,
    max_part_bytes: int,
    eod_token: str,
    split_special: bool,
    overwrite: bool,
    executor: str,
    weights: str | None,
    cap_tokens: str | None,
    mixture_file: str | None,
) -> None:
    """Tokenise finished run RUN into Megatron-LM indexed datasets (.bin/.idx per language and part).

    Beside each part: a doc map (Parquet: document id -> part, sequence, token offset, token count); in the folder:
    pack.json (tokenizer sha256, the run's root hash, sha256 of every file, token counts per language); the
    tokenizer files a trainer loads (tokenizer.json, tokenizer_config.json, special_tokens_map.json: eos = the
    end-of-document token) and blend.txt (Megatron's --data-path string, see docs/training.md). The pack is
    verified after writing; `sovereign audit verify RUN` checks every pack under RUN/packs again. Run again after
    an interruption: finished parts are kept.
    """
    from sovereign.pipeline.packs.mixture import load_mixture_yaml, make_mixture, parse_pairs
    from sovereign.pipeline.packs.pack import PackError, pack_run
    from sovereign.pipeline.packs.source import file_store
    from sovereign.pipeline.packs.verify import verify_packs

    from_file = None
    if mixture_file:
        store, name_in = file_store(mixture_file)
        if not store.exists(name_in):
            raise PackError(f"mixture file not found: {mixture_file}")
        from_file = load_mixture_yaml(store.read_bytes(name_in), mixture_file)
    mixture = make_mixture(parse_pairs(weights, "--weights"), parse_pairs(cap_tokens, "--cap-tokens"), from_file)
    started = time.monotonic()
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    totals = {"characters": 0}
    skipped: list[str] = []
    with Progress(*columns, console=console, transient=True) as bar:
        tasks: dict[str, int] = {}

        def progress(lang: str, docs: int, characters: int) -> None:
            if lang not in tasks:
                tasks[lang] = bar.add_task(f"lang={lang}", total=None)
            bar.advance(tasks[lang], docs)
            totals["characters"] += characters

        out_uri, manifest = pack_run(
            run,
            tokenizer_file,
            out=out,
            device=device,
            name=name,
            max_part_bytes=max_part_bytes,
            split_special=split_special,
            eod_token=eod_token,
            overwrite=overwrite,
            progress=progress,
            workers=workers,
            note=lambda text: console.print(f"encoder: {text}"),
            executor=executor,
            on_part=lambda r: skipped.append(r["name"]) if r["skipped"] else None,
            mixture=mixture,
        )
    elapsed = time.monotonic() - started
    table = Table(title=f"packs in {out_uri}")
    for col in ("language", "documents", "tokens", "parts"):
        table.add_column(col, justify="right")
    for lang, info in manifest["languages"].items():
        table.add_row(lang, str(info["documents"]), str(info["tokens"]), str(len(info["parts"])))
    console.print(table)
    console.print(f"{totals['characters'] / 1e6:.1f} M characters in {elapsed:.1f}s on {device}")
    console.print(f"blend (Megatron --data-path, prefixes relative to the pack folder): {out_uri}/blend.txt")
    if skipped:
        console.print(f"resumed: {len(skipped)} parts were already finished")
    problems = verify_packs(out_uri)
    if problems:
        raise PackError(f"pack written but verify found {len(problems)} problems; first: {problems[0]}")
