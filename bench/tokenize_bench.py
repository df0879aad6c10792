"""Tokenisation throughput: HF tokenizers (1 core, all cores = the anchor), our CPU path (encoder and a whole
``pack_run``), our array-program BPE on NumPy and, when a GPU is present, on CuPy. Checks id identity and prints
a table of MB/s and the ratio to the anchor measured in the same run.

    .venv/bin/python bench/tokenize_bench.py [--mb 4] [--vocab 16000] [--tokenizer FILE]

Input: real multilingual text from ../shared (EU public-sector laws, German federal laws, Wikipedia paragraphs),
cut into ~4 KB documents, no repetition (repeats would flatter the word cache of the array encoder).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pipeline.packs.bpe_array import ArrayBPEEncoder, array_module  # noqa: E402
from pipeline.packs.bytelevel import load_byte_level_bpe  # noqa: E402
from pipeline.packs.pack import HFEncoder, pack_run  # noqa: E402
from pipeline.packs.train import EOD_TOKEN, new_tokenizer  # noqa: E402

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "conformance"
BATCH = 1024


def corpus(mb: float) -> list[str]:
    files = sorted((SHARED / "public-sector").rglob("*.md")) + sorted((SHARED / "de-bundesgesetze").glob("*.md"))
    texts = [s["text"] for s in json.loads((SHARED / "resiliparse-lang-samples/samples.json").read_text())]
    for name in ("eurlex_digital_acquis_en.json", "napoleonic_codes_fr.json"):
        raw = (SHARED / "public-sector" / name).read_text(encoding="utf-8")
        files_text = json.loads(raw)
        stack, strings = [files_text], []
        while stack:
            node = stack.pop()
            if isinstance(node, dict):
                stack += [v for k, v in node.items() if not (isinstance(v, str) and "text" not in k)]
                strings += [v for k, v in node.items() if isinstance(v, str) and "text" in k]
            elif isinstance(node, list):
                stack += node
        texts.append("\n".join(sorted(strings)))
    texts += [p.read_text(encoding="utf-8") for p in files]
    docs, size = [], 0
    for text in texts:
        for i in range(0, len(text), 4000):
            docs.append(text[i : i + 4000])
            size += len(docs[-1].encode("utf-8"))
            if size >= mb * 1e6:
                return docs
    return docs


def timed(fn, texts: list[str]) -> tuple[float, np.ndarray]:  # noqa: ANN001
    start = time.perf_counter()
    ids = [fn(texts[i : i + BATCH]) for i in range(0, len(texts), BATCH)]
    return time.perf_counter() - start, np.concatenate(ids)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mb", type=float, default=4.0)
    ap.add_argument("--vocab", type=int, default=16000)
    ap.add_argument("--tokenizer", type=Path, default=None)
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
        tok.train_from_iterator(texts, trainer=trainer)
        tok_path = work / "tokenizer.json"
        tok.save(str(tok_path))
    tok_bytes = tok_path.read_bytes()

    # A fresh tokenizer per row: HF's BPE keeps a word cache, which would flatter whichever row runs later.
    def hf_batcher() -> object:
        hf = HFEncoder(tok_bytes, split_special=False).tok
        return lambda batch: np.concatenate([np.asarray(e.ids, dtype=np.int32) for e in hf.encode_batch(batch, False)])

    rows: list[tuple[str, float, bool]] = []
    anchor_s, want = timed(hf_batcher(), texts)  # the anchor: encode_batch on all cores
    os.environ["TOKENIZERS_PARALLELISM"] = "false"  # read by tokenizers at each call: encode_batch goes serial
    one_s, ids = timed(hf_batcher(), texts)
    os.environ["TOKENIZERS_PARALLELISM"] = "true"
    rows.append(("HF tokenizers, 1 core (encode_batch, serial)", one_s, np.array_equal(ids, want)))
    rows.append(("HF tokenizers, all cores (encode_batch) [anchor]", anchor_s, True))
    ours = HFEncoder(tok_bytes, split_special=False)
    cpu_s, ids = timed(lambda b: ours.encode_batch(b)[0], texts)
    rows.append(("ours, CPU path encoder (encode_batch_fast -> numpy)", cpu_s, np.array_equal(ids, want)))

    run = work / "run"
    (run / "shards" / "lang=xx").mkdir(parents=True)
    table = pa.table({"id": [f"{i:08d}" for i in range(len(texts))], "text": texts, "language": ["xx"] * len(texts)})
    pq.write_table(table, run / "shards" / "lang=xx" / "part-00000.parquet", compression="zstd")
    (run / "run.json").write_text(json.dumps({"root_hash": "0" * 64}))
    start = time.perf_counter()
    _, manifest = pack_run(str(run), str(tok_path), out=str(work / "packs"))
    pack_s = time.perf_counter() - start
    packed = np.fromfile(work / "packs" / "lang=xx" / "part-00000.bin", dtype=manifest["dtype"])
    rows.append(
        ("ours, CPU `pack` end to end (Parquet in, .bin/.idx out)", pack_s, packed.size == want.size + len(texts))
    )

    spec = load_byte_level_bpe(tok_path)
    devices = [("numpy", "cpu")]
    try:
        array_module("cuda")
        devices.append(("cupy", "cuda"))
    except RuntimeError as exc:
        print(f"(no GPU: {exc}; CuPy row skipped)")
    for label, device in devices:
        enc = ArrayBPEEncoder(spec, xp=array_module(device), split_special=False)
        secs, ids = timed(lambda b, e=enc: e.encode_batch(b)[0], texts)
        rows.append((f"ours, array-program BPE on {label} (cold word cache)", secs, np.array_equal(ids, want)))

    print(f"\n{len(texts)} documents, {mb:.2f} MB UTF-8, vocab {spec.vocab_size}, {os.cpu_count()} cores")
    print(f"{'path':<60} {'seconds':>8} {'MB/s':>8} {'vs anchor':>10} {'ids identical':>14}")
    for name, secs, same in rows:
        print(f"{name:<60} {secs:>8.2f} {mb / secs:>8.2f} {anchor_s / secs:>9.2f}x {str(same):>14}")


if __name__ == "__main__":
    main()
