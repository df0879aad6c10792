"""Tokenizer training and Megatron packs on a small fake run of real multilingual text (written here, from ../shared).

The packs are read back with an independent reader written from the format description (numpy memmap), and
every document's tokens must equal HF tokenizers' ids for its text + the end-of-document token.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from tokenizers import Tokenizer

from sovereign.pipeline.packs import find_documents, verify_packs
from sovereign.pipeline.packs.cli import pack, tokenizer
from tests.helpers.packs import pack_files, read_megatron


def test_training_is_deterministic_and_offline(run_dir: Path, tokenizer_file: Path, tmp_path: Path) -> None:
    again = tmp_path / "again.json"
    result = CliRunner().invoke(tokenizer, ["train", str(run_dir), "--vocab-size", "1200", "--out", str(again)])
    assert result.exit_code == 0, result.output
    assert again.read_bytes() == tokenizer_file.read_bytes()
    tok = Tokenizer.from_file(str(tokenizer_file))
    assert tok.token_to_id("<|endoftext|>") == 0 and tok.get_vocab_size() == 1200
    small = tmp_path / "small.json"  # a small byte budget samples fewer documents, still deterministically
    args = ["train", str(run_dir), "--vocab-size", "600", "--out", str(small), "--bytes-per-language", "2000"]
    assert CliRunner().invoke(tokenizer, args).exit_code == 0


def _pack(run_dir: Path, tokenizer_file: Path, out: Path, *extra: str) -> None:
    args = [str(run_dir), "--tokenizer", str(tokenizer_file), "--out", str(out), "--max-part-bytes", "20000", *extra]
    result = CliRunner().invoke(pack, args)
    assert result.exit_code == 0, result.output


def test_pack_round_trip_with_independent_reader(run_dir: Path, tokenizer_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "packs"
    _pack(run_dir, tokenizer_file, out)
    assert verify_packs(str(out)) == []
    manifest = json.loads((out / "pack.json").read_text())
    assert manifest["source_run"]["root_hash"] == "ab" * 32
    assert manifest["tokenizer"]["sha256"] == hashlib.sha256(tokenizer_file.read_bytes()).hexdigest()
    assert manifest["dtype"] == "uint16" and len(manifest["languages"]["de"]["parts"]) > 1  # size-bounded parts
    hf = Tokenizer.from_file(str(tokenizer_file))
    hf.encode_special_tokens = True  # default: special-token text inside a document is ordinary text
    texts = {}
    for shard in sorted((run_dir / "shards").rglob("*.parquet")):
        t = pq.read_table(shard, columns=["id", "text"])
        texts.update(zip(t.column("id").to_pylist(), t.column("text").to_pylist(), strict=True))
    seen = []
    for lang, info in manifest["languages"].items():
        tokens = 0
        for part in info["parts"]:
            sequences = read_megatron(out / part)
            docmap = pq.read_table(out / f"{part}.docmap.parquet").to_pylist()
            assert len(docmap) == len(sequences)
            for row, seq in zip(docmap, sequences, strict=True):
                want = hf.encode(texts[row["id"]], add_special_tokens=False).ids + [0]
                assert seq.tolist() == want, (lang, row["id"])
                assert row["token_count"] == len(want) and row["language"] == lang
                seen.append(row["id"])
                tokens += len(want)
        assert tokens == info["tokens"]
    assert sorted(seen) == sorted(texts)  # every document exactly once
    first = find_documents(str(out), [seen[5]]).to_pylist()
    assert len(first) == 1 and first[0]["id"] == seen[5]


def test_every_path_gives_identical_pack_bytes(run_dir: Path, tokenizer_file: Path, tmp_path: Path) -> None:
    """cpu in this process, cpu over 2 worker processes (smaller batches, languages in flight together), HF
    encode_batch, and the array program: the same bytes, file for file."""
    _pack(run_dir, tokenizer_file, tmp_path / "cpu")
    want = pack_files(tmp_path / "cpu")
    for name, extra in {"pool": ("--workers", "2"), "hf": ("--device", "hf"), "numpy": ("--device", "numpy")}.items():
        _pack(run_dir, tokenizer_file, tmp_path / name, *extra)
        got = pack_files(tmp_path / name)
        assert sorted(got) == sorted(want), name
        assert [rel for rel in want if got[rel] != want[rel]] == [], name


def test_cpu_falls_back_to_hf_for_a_tokenizer_it_cannot_reproduce(
    run_dir: Path, tokenizer_file: Path, tmp_path: Path
) -> None:
    spec = json.loads(tokenizer_file.read_text())
    spec["normalizer"] = {"type": "NFKC"}  # our split has no normalizer: the word cache must not be used
    nfkc = tmp_path / "nfkc.json"
    nfkc.write_text(json.dumps(spec))
    args = [str(run_dir), "--tokenizer", str(nfkc), "--out"]
    result = CliRunner().invoke(pack, [*args, str(tmp_path / "cpu")])
    assert result.exit_code == 0, result.output
    said = " ".join(result.output.split())  # rich wraps lines
    assert "HF encode_batch_fast (the word cache cannot reproduce this tokenizer: normalizer" in said
    assert verify_packs(str(tmp_path / "cpu")) == []
    hf = CliRunner().invoke(pack, [*args, str(tmp_path / "hf"), "--device", "hf"])
    assert hf.exit_code == 0 and pack_files(tmp_path / "hf") == pack_files(tmp_path / "cpu")
    refused = CliRunner().invoke(pack, [*args, str(tmp_path / "np"), "--device", "numpy"])
    assert refused.exit_code == 1 and "cannot reproduce this tokenizer: normalizer" in " ".join(refused.output.split())


def test_split_special_maps_literal_special_text(run_dir: Path, tokenizer_file: Path, tmp_path: Path) -> None:
    _pack(run_dir, tokenizer_file, tmp_path / "split", "--split-special", "--device", "numpy")
    _pack(run_dir, tokenizer_file, tmp_path / "text")
    split = json.loads((tmp_path / "split/pack.json").read_text())
    text = json.loads((tmp_path / "text/pack.json").read_text())
    assert split["languages"]["xx"]["tokens"] < text["languages"]["xx"]["tokens"]
    assert verify_packs(str(tmp_path / "split")) == []


def test_default_out_and_verify_finds_damage(run_dir: Path, tokenizer_file: Path, tmp_path: Path) -> None:
    import shutil

    run = tmp_path / "run"
    shutil.copytree(run_dir, run)
    result = CliRunner().invoke(pack, [str(run), "--tokenizer", str(tokenizer_file), "--name", "t1"])
    assert result.exit_code == 0, result.output
    out = run / "packs" / "t1"
    assert verify_packs(str(out)) == []
    again = CliRunner().invoke(pack, [str(run), "--tokenizer", str(tokenizer_file), "--name", "t1"])
    assert again.exit_code != 0 and "--overwrite" in again.output
    bin_file = out / "lang=de" / "part-00000.bin"
    data = bytearray(bin_file.read_bytes())
    data[10] ^= 0xFF
    bin_file.write_bytes(bytes(data))
    (out / "lang=fr" / "part-00000.idx").unlink()
    (run / "run.json").write_text(json.dumps({"root_hash": "cd" * 32}))
    problems = verify_packs(str(out))
    assert any("lang=de/part-00000.bin: sha256" in p for p in problems)
    assert any("lang=fr/part-00000.idx: listed in pack.json but missing" in p for p in problems)
    assert any("root_hash differs" in p for p in problems)
    assert verify_packs(str(tmp_path / "nothing"))[0].endswith("(pack missing or interrupted)")


def test_clear_errors(run_dir: Path, tokenizer_file: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    missing = runner.invoke(pack, [str(run_dir), "--tokenizer", str(tmp_path / "no.json"), "--out", str(tmp_path)])
    assert missing.exit_code == 1 and "tokenizer file not found" in missing.output
    norun = runner.invoke(pack, [str(tmp_path), "--tokenizer", str(tokenizer_file), "--out", str(tmp_path / "o")])
    assert norun.exit_code == 1 and "Error:" in norun.output
    try:
        import cupy  # noqa: F401

        pytest.skip("CuPy present: --device cuda may work here")
    except ImportError:
        pass
    gpu = runner.invoke(
        pack, [str(run_dir), "--tokenizer", str(tokenizer_file), "--out", str(tmp_path / "g"), "--device", "cuda"]
    )
    assert gpu.exit_code == 1 and "needs CuPy and a CUDA GPU" in gpu.output
    assert runner.invoke(pack, ["--help"]).exit_code == 0
    assert runner.invoke(tokenizer, ["train", "--help"]).exit_code == 0


def test_demo_run_train_pack_then_audit_verify(tmp_path: Path) -> None:
    """A real pipeline run (the demo crawl through every stage), then the commands a user types: tokenizer train,
    pack, audit verify (which re-verifies every pack under RUN/packs); a damaged pack fails the audit."""
    from sovereign.pipeline.audit import verify_run
    from sovereign.pipeline.cli import main
    from sovereign.pipeline.demo import demo_config
    from sovereign.pipeline.engine import run_pipeline

    run_pipeline(demo_config(tmp_path, pages=150))
    run = tmp_path / "run"
    tok = tmp_path / "tokenizer.json"
    runner = CliRunner()
    for args in (
        ["tokenizer", "train", str(run), "--vocab-size", "1000", "--out", str(tok)],
        ["pack", str(run), "--tokenizer", str(tok), "--name", "t1k"],
        ["audit", "verify", str(run)],
    ):
        result = runner.invoke(main, args)
        assert result.exit_code == 0, (args, result.output)
    manifest = json.loads((run / "packs/t1k/pack.json").read_text())
    assert manifest["totals"]["documents"] == sum(
        pq.ParquetFile(p).metadata.num_rows for p in (run / "shards").rglob("*.parquet")
    )
    assert len(manifest["languages"]) > 5
    part = run / "packs/t1k" / (manifest["languages"]["en"]["parts"][0] + ".bin")
    data = bytearray(part.read_bytes())
    data[3] ^= 0x01
    part.write_bytes(bytes(data))
    problems, _ = verify_run(str(run))
    assert problems == [f"packs/t1k: {manifest['languages']['en']['parts'][0]}.bin: sha256 differs from pack.json"]
    failed = runner.invoke(main, ["audit", "verify", str(run)])
    assert failed.exit_code != 0


# Made by the packer before it ran on the executor (issue 10): the same run + tokenizer must give the same bytes.
BEFORE_FILES_ROOT_HASH = "21e8564fbcaf2b2ffa5941dceb8e2d55099a29d743062c31a92faf4faf5feb77"
# pack.json since issue 12 (it lists the trainer files and the mixture; the files above are unchanged).
BEFORE_PACK_JSON_SHA256 = "78882080b0110a62fbcb3d7c6f101256b78906b17fd0e4077446dff8d6f3eecd"


@pytest.mark.parametrize("chunk_rows", [2048, 7])  # 7: many encode tasks per shard, parts spanning several
def test_pack_bytes_unchanged_since_before_executor_tasks(
    run_dir: Path, tokenizer_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chunk_rows: int
) -> None:
    from sovereign.pipeline.packs import pack as pack_module

    monkeypatch.setattr(pack_module, "CHUNK_ROWS", chunk_rows)
    _pack(run_dir, tokenizer_file, tmp_path / "p")
    files = {rel: hashlib.sha256(data).hexdigest() for rel, data in pack_files(tmp_path / "p").items()}
    files.pop("pack.json")
    for added in ("blend.txt", "tokenizer_config.json", "special_tokens_map.json"):  # issue 12's trainer files
        files.pop(added)
    lines = "".join(f"{rel}\t{sha}\n" for rel, sha in sorted(files.items()))
    assert hashlib.sha256(lines.encode()).hexdigest() == BEFORE_FILES_ROOT_HASH, sorted(files.items())
    assert hashlib.sha256((tmp_path / "p/pack.json").read_bytes()).hexdigest() == BEFORE_PACK_JSON_SHA256


class _Crash(Exception):
    """Stands in for a SIGKILL in the middle of a pack (raised from inside a task)."""


def test_interrupted_pack_resumes_skipping_finished_work(
    run_dir: Path, tokenizer_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A pack that dies mid-way leaves its finished segments and parts; the same command then skips them (their
    files are not rewritten: same inode) and the result is byte-identical to an uninterrupted pack."""
    from sovereign.pipeline.packs import pack as pack_module
    from sovereign.pipeline.packs import tasks

    out = tmp_path / "p"
    calls = {"encode": 0, "part": 0}
    real_encode, real_part = tasks.encode_task, tasks.write_part_task

    def crashing_encode(item: tasks.EncodeItem) -> dict:
        calls["encode"] += 1
        if calls["encode"] == 6:
            raise _Crash
        return real_encode(item)

    monkeypatch.setattr(pack_module, "encode_task", crashing_encode)
    with pytest.raises(_Crash):
        pack_module.pack_run(str(run_dir), str(tokenizer_file), out=str(out), max_part_bytes=20000)
    assert len(list((out / ".work").rglob("seg-*.parquet"))) == 5 and not (out / "pack.json").exists()

    def crashing_part(item: tasks.PartItem) -> dict:
        calls["part"] += 1
        if calls["part"] == 4:
            raise _Crash
        return real_part(item)

    reencoded: list[str] = []

    def watched_encode(item: tasks.EncodeItem) -> dict:
        if not (out / item.segment).exists():
            reencoded.append(item.segment)
        return real_encode(item)

    monkeypatch.setattr(pack_module, "encode_task", watched_encode)
    monkeypatch.setattr(pack_module, "write_part_task", crashing_part)
    with pytest.raises(_Crash):
        pack_module.pack_run(str(run_dir), str(tokenizer_file), out=str(out), max_part_bytes=20000)
    segments = sorted(str(p.relative_to(out)) for p in (out / ".work").rglob("seg-*.parquet"))
    assert len(reencoded) == len(segments) - 5  # the 5 finished segments were kept, not encoded again
    finished = sorted(p for p in out.glob("lang=*/part-*.*") if ".tmp-" not in p.name)
    assert len(finished) == 3 * 3  # .bin, .idx and doc map of the 3 parts written before the crash
    inodes = {p: p.stat().st_ino for p in finished}

    monkeypatch.setattr(pack_module, "write_part_task", real_part)
    result = CliRunner().invoke(pack, [str(run_dir), "--tokenizer", str(tokenizer_file), "--out", str(out),
                                       "--max-part-bytes", "20000", "--executor", "local"])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "resumed: 3 parts were already finished" in " ".join(result.output.split())
    assert {p: p.stat().st_ino for p in finished} == inodes  # skipped, not rewritten
    assert not (out / ".work").exists() and verify_packs(str(out)) == []
    _pack(run_dir, tokenizer_file, tmp_path / "fresh")
    assert pack_files(out) == pack_files(tmp_path / "fresh")


def test_pack_errors_are_sovereign_errors_and_commands_are_registered() -> None:
    from sovereign.pipeline.cli import main
    from sovereign.pipeline.errors import SovereignError
    from sovereign.pipeline.packs.errors import EncoderError, NoDevice, PackError, UnsupportedTokenizer

    assert all(issubclass(e, SovereignError) for e in (PackError, EncoderError, NoDevice, UnsupportedTokenizer))
    assert {"pack", "tokenizer"} <= set(main.commands)
