"""Train a byte-level BPE tokenizer (HF ``tokenizers``) on a finished run's shards, offline and deterministically.

Sampling: every language gets the same byte budget; a document is in the sample iff xxh64(id) falls below the
language's rate (budget / the text column's uncompressed bytes from Parquet metadata). So the sample depends only
on the run's documents and the parameters, not on shard layout, worker count or reading order.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import xxhash
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

from sovereign.pipeline.packs.errors import PackError
from sovereign.pipeline.packs.source import file_store, run_shards
from sovereign.pipeline.runinfo import sha256_bytes
from sovereign.pipeline.storage import Store

EOD_TOKEN = "<|endoftext|>"
HASH_SPACE = 1 << 64


@dataclass
class TrainReport:
    out: str
    sha256: str
    vocab_size: int
    docs: dict[str, int] = field(default_factory=dict)  # language -> sampled documents
    bytes: dict[str, int] = field(default_factory=dict)  # language -> sampled UTF-8 bytes


def _text_bytes(pf) -> int:
    col = pf.schema_arrow.get_field_index("text")
    md = pf.metadata
    return sum(md.row_group(i).column(col).total_uncompressed_size for i in range(md.num_row_groups))


def sample_texts(
    run: str,
    bytes_per_language: int,
    languages: list[str] | None = None,
    report: TrainReport | None = None,
    batch_rows: int = 1024,
) -> Iterator[list[str]]:
    """Batches of sampled document texts, languages in sorted order."""
    store = Store(run)
    shards = run_shards(store)
    wanted = sorted(set(languages)) if languages else list(shards)
    for lang in wanted:
        files = [store.parquet_file(p) for p in shards.get(lang, [])]
        total = sum(_text_bytes(pf) for pf in files)
        if total == 0:
            continue
        threshold = min(HASH_SPACE, int(HASH_SPACE * bytes_per_language / total))
        for pf in files:
            for batch in pf.iter_batches(batch_size=batch_rows, columns=["id", "text"]):
                ids, texts = batch.column(0).to_pylist(), batch.column(1).to_pylist()
                # ids are ASCII hex; encoded explicitly because xxhash 4 refuses str (same values as xxhash 3)
                keep = [
                    t for i, t in zip(ids, texts, strict=True) if t and xxhash.xxh64_intdigest(i.encode()) < threshold
                ]
                if report is not None:
                    report.docs[lang] = report.docs.get(lang, 0) + len(keep)
                    report.bytes[lang] = report.bytes.get(lang, 0) + sum(len(t.encode("utf-8")) for t in keep)
                if keep:
                    yield keep


def new_tokenizer() -> Tokenizer:
    """GPT-2 style byte-level BPE: no normalizer, no prefix space, regex split; every byte is in the vocabulary."""
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    return tok


def train_tokenizer(
    run: str,
    vocab_size: int,
    out: str | Path,
    bytes_per_language: int = 200_000_000,
    languages: list[str] | None = None,
    min_frequency: int = 2,
) -> TrainReport:
    """Train, then write ``out`` (tokenizer.json) atomically; returns what was sampled and the file's sha256."""
    if vocab_size < 256 + 1:
        raise PackError(f"vocab size {vocab_size} is below the 256 byte symbols + the end-of-document token")
    report = TrainReport(out=str(out), sha256="", vocab_size=vocab_size)
    tok = new_tokenizer()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=min_frequency,
        special_tokens=[EOD_TOKEN],  # id 0
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(sample_texts(run, bytes_per_language, languages, report), trainer=trainer)
    if not report.docs or not sum(report.docs.values()):
        raise PackError(f"no documents sampled from {run} (languages: {languages or 'all'})")
    data = tok.to_str(pretty=True).encode("utf-8")
    folder, name = file_store(str(out))
    folder.write_bytes(name, data)
    report.sha256 = sha256_bytes(data)
    report.vocab_size = tok.get_vocab_size(with_added_tokens=True)
    return report
