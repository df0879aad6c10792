"""Tokenisation throughput and identity: HF tokenizers (1 core; all cores = the anchor), our CPU encoder, whole
``pack_run`` calls (Parquet in, .bin/.idx out) on every path, our array-program BPE on NumPy and, when a GPU is
present, on CuPy. Every row's ids must equal the anchor's (pack rows: the .bin read back, end-of-document tokens
included) and all packs must have the same root hash. Prints median wall and CPU seconds over ``--rounds`` rounds
(rows interleaved within each round, so load from other processes hits all rows alike) and the ratio to the anchor.

    .venv/bin/python bench/tokenize_bench.py [--mb 3] [--vocab 16000] [--rounds 3] [--tokenizer FILE] [--no-numpy]

Input: real multilingual text from ../shared (EU public-sector laws, German federal laws, Wikipedia paragraphs),
cut into ~4 KB documents. The real text is ~4.5 MB; beyond that (``--mb 100`` for the identity check on a GPU
machine) documents are variants of the real ones with two letters swapped in a quarter of the longer words, so new
words keep arriving (the header prints the distinct-word share: repeats would flatter the word caches).
CPU time includes worker processes (os.times children, collected when a pack's pool shuts down).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _shared import shared_data_dir  # noqa: E402 - bench/_shared.py, beside this script: the one data rule

from sovereign.pipeline.packs.bpe_array import array_module  # noqa: E402
from sovereign.pipeline.packs.encoders import HFEncoder, HFWordEncoder, make_encoder  # noqa: E402
from sovereign.pipeline.packs.pack import pack_run  # noqa: E402
from sovereign.pipeline.packs.source import MIN_WORKER_BYTES, available_cores, run_shards, text_bytes  # noqa: E402
from sovereign.pipeline.packs.train import EOD_TOKEN, new_tokenizer  # noqa: E402
from sovereign.pipeline.storage import Store  # noqa: E402

SHARED = shared_data_dir() / "conformance"
BATCH = 1024
DOC_CHARS = 4000
WORD = re.compile(r"\w{5,}")


def real_texts() -> list[str]:
    files = sorted((SHARED / "public-sector").rglob("*.md")) + sorted((SHARED / "de-bundesgesetze").glob("*.md"))
    texts = [s["text"] for s in json.loads((SHARED / "resiliparse-lang-samples/samples.json").read_text())]
    for name in ("eurlex_digital_acquis_en.json", "napoleonic_codes_fr.json"):
        stack, strings = [json.loads((SHARED / "public-sector" / name).read_text(encoding="utf-8"))], []
        while stack:
            node = stack.pop()
            if isinstance(node, dict):
                stack += [v for k, v in node.items() if not (isinstance(v, str) and "text" not in k)]
                strings += [v for k, v in node.items() if isinstance(v, str) and "text" in k]
            elif isinstance(node, list):
                stack += node
        texts.append("\n".join(sorted(strings)))
    texts += [p.read_text(encoding="utf-8") for p in files]
    return [t[i : i + DOC_CHARS] for t in texts for i in range(0, len(t), DOC_CHARS)]


def _swap(rng: random.Random, m: re.Match[str]) -> str:
    w = m.group(0)
    if rng.random() >= 0.25:
        return w
    i = rng.randrange(1, len(w) - 2)
    return w[:i] + w[i + 1] + w[i] + w[i + 2 :]


def corpus(mb: float) -> list[str]:
    """``mb`` MB of documents: the real text first, then deterministic variants of it (new words included)."""
    base, docs, size, k = real_texts(), [], 0, 0
    while True:
        for i, text in enumerate(base):
            if k:
                rng = random.Random(k * 1_000_003 + i)
                text = WORD.sub(lambda m, r=rng: _swap(r, m), text)
            docs.append(text)
            size += len(text.encode("utf-8"))
            if size >= mb * 1e6:
                return docs
        k += 1


def distinct_share(texts: list[str]) -> float:
    words = [w for t in texts for w in re.findall(r"\w+", t)]
    return len(set(words)) / max(1, len(words))


def cpu_seconds() -> float:
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


class Row:
    def __init__(self, name: str, fn: Callable[[], np.ndarray]) -> None:
        self.name, self.fn = name, fn
        self.wall: list[float] = []
        self.cpu: list[float] = []
        self.identical = True

    def measure(self, want: np.ndarray | None) -> np.ndarray:
        c0, w0 = cpu_seconds(), time.perf_counter()
        ids = self.fn()
        self.wall.append(time.perf_counter() - w0)
        self.cpu.append(cpu_seconds() - c0)
        if want is not None:
            self.identical &= bool(np.array_equal(ids, want))
        return ids


def batched(encode: Callable[[list[str]], np.ndarray], texts: list[str]) -> np.ndarray:
    return np.concatenate([encode(texts[i : i + BATCH]) for i in range(0, len(texts), BATCH)])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mb", type=float, default=3.0)
    ap.add_argument("--vocab", type=int, default=16000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--tokenizer", type=Path, default=None)
    ap.add_argument("--no-numpy", action="store_true", help="skip the array program on NumPy (slow at --mb 100)")
    args = ap.parse_args()
    if not SHARED.is_dir():
        raise SystemExit(f"shared data not found at {SHARED}")
    texts = corpus(args.mb)
    mb = sum(len(t.encode("utf-8")) for t in texts) / 1e6
    work = Path(tempfile.mkdtemp(prefix="tokbench-"))
    tok_path = args.tokenizer
    if tok_path is None:
        from tokenizers import pre_tokenizers, trainers

        tok = new_tokenizer()
        trainer = trainers.BpeTrainer(
            vocab_size=args.vocab,
            special_tokens=[EOD_TOKEN],
            initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
            show_progress=False,
        )
        tok.train_from_iterator(texts[:2000], trainer=trainer)
        tok_path = work / "tokenizer.json"
        tok.save(str(tok_path))
    tok_bytes = tok_path.read_bytes()
    cores = available_cores()

    run = work / "run"
    (run / "shards" / "lang=xx").mkdir(parents=True)
    table = pa.table({"id": [f"{i:08d}" for i in range(len(texts))], "text": texts, "language": ["xx"] * len(texts)})
    pq.write_table(table, run / "shards" / "lang=xx" / "part-00000.parquet", compression="zstd")
    (run / "run.json").write_text(json.dumps({"root_hash": "0" * 64}))
    roots: dict[str, set[str]] = {}
    store = Store(str(run))
    auto = max(1, min(cores, text_bytes(store, run_shards(store)) // MIN_WORKER_BYTES))

    # A fresh tokenizer / encoder per measurement: HF's BPE cache and our word cache would flatter later rounds.
    def hf(parallel: bool, fast: bool) -> Callable[[], np.ndarray]:
        def fn() -> np.ndarray:
            os.environ["TOKENIZERS_PARALLELISM"] = "true" if parallel else "false"  # read at each call
            try:
                t = HFEncoder(tok_bytes, split_special=False).tok
                encode = t.encode_batch_fast if fast else t.encode_batch
                return batched(lambda b: np.concatenate([e.ids for e in encode(b, False)]).astype(np.int32), texts)
            finally:
                os.environ["TOKENIZERS_PARALLELISM"] = "true"

        return fn

    def ours_cold() -> np.ndarray:
        enc = HFWordEncoder(tok_bytes, split_special=False)
        return batched(lambda b: enc.encode_batch(b)[0], texts)

    def pack(device: str, workers: int | None) -> Callable[[], np.ndarray]:
        def fn() -> np.ndarray:
            out = work / f"packs-{device}-{workers}"
            kw = {"device": device, "workers": workers, "overwrite": True}
            _, manifest = pack_run(str(run), str(tok_path), out=str(out), **kw)
            roots.setdefault(manifest["root_hash"], set()).add(f"{device}/{workers}")
            data = np.fromfile(out / "lang=xx" / "part-00000.bin", dtype=manifest["dtype"]).astype(np.int32)
            return data[data != 0]  # drop the end-of-document tokens (id 0; text never encodes to it here)

        return fn

    anchor = Row("HF encode_batch, all cores [anchor]", hf(True, False))
    rows = [
        Row("HF encode_batch, 1 core (TOKENIZERS_PARALLELISM=false)", hf(False, False)),
        anchor,
        Row("HF encode_batch_fast, all cores", hf(True, True)),
        Row("ours: word cache + HF BPE, 1 process (cold cache)", ours_cold),
        Row(f"pack --device cpu (default here: --workers {auto})", pack("cpu", None)),
        *([Row(f"pack --device cpu --workers {cores} (all cores)", pack("cpu", cores))] if auto != cores else []),
        *([Row("pack --device cpu --workers 1", pack("cpu", 1))] if auto != 1 else []),
        Row("pack --device hf (encode_batch_fast, all cores)", pack("hf", None)),
    ]
    if not args.no_numpy:
        rows.append(Row("array-program BPE on NumPy, 1 core (cold cache)", lambda: batched(_numpy(tok_bytes), texts)))
    try:
        array_module("cuda")
        rows.append(Row("array-program BPE on CuPy (cold cache)", lambda: batched(_cupy(tok_bytes), texts)))
    except RuntimeError as exc:
        print(f"(no GPU: {exc}; CuPy row skipped)")

    want = anchor.measure(None)
    anchor.wall.clear()
    anchor.cpu.clear()  # the first call warmed the page cache and imports: not counted
    for r in range(args.rounds):
        order = rows[r % len(rows) :] + rows[: r % len(rows)]  # rotate the order: no row always runs first
        for row in order:
            row.measure(want)

    print(f"\n{len(texts)} documents, {mb:.2f} MB UTF-8, distinct words {distinct_share(texts):.1%} of words,")
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"vocab {HFEncoder(tok_bytes, False).tok.get_vocab_size()}, {cores} cores (load average {load}), median of ")
    print(f"{args.rounds} rounds; CPU s = user + sys of this process and its finished children")
    a_wall = statistics.median(anchor.wall)
    print(f"{'path':<58} {'wall s':>7} {'CPU s':>7} {'MB/s':>7} {'vs anchor':>10} {'ids identical':>14}")
    for row in rows:
        wall, cpu = statistics.median(row.wall), statistics.median(row.cpu)
        print(f"{row.name:<58} {wall:>7.2f} {cpu:>7.2f} {mb / wall:>7.2f} {a_wall / wall:>9.2f}x {row.identical!s:>14}")
    print(f"pack root hashes: {len(roots)} distinct ({'identical bytes on every path' if len(roots) == 1 else roots})")
    if len(roots) != 1 or not all(row.identical for row in rows):
        raise SystemExit("identity check FAILED")


def _numpy(tok_bytes: bytes) -> Callable[[list[str]], np.ndarray]:
    enc = make_encoder(tok_bytes, "numpy", False)
    return lambda b: enc.encode_batch(b)[0]


def _cupy(tok_bytes: bytes) -> Callable[[list[str]], np.ndarray]:
    enc = make_encoder(tok_bytes, "cuda", False)
    return lambda b: enc.encode_batch(b)[0]


if __name__ == "__main__":
    main()
