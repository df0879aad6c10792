"""Packs for training stacks (issue 12): the tokenizer files transformers and Megatron load, the --data-path blend
with per-language weights and token caps, byte-identical packs on Spark and Ray, and resume after a SIGKILL.

Uses the small multilingual fake run and tokenizer of tests/helpers/packs.py (its module fixtures, imported)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from sovereign.pipeline.packs import verify_packs
from sovereign.pipeline.packs.cli import pack
from sovereign.pipeline.packs.mixture import Mixture
from sovereign.pipeline.packs.pack import pack_run
from tests.helpers.packs import pack_files, read_megatron

PART_BYTES = 3000  # small parts: several per language, so weights split over parts and a kill lands mid-way
CAP = {"de": 4000}  # about half of de's tokens
WEIGHTS = {"de": 0.3, "fr": 0.2, "en": 0.5}


def _cli(run: Path, tok: Path, out: Path, *extra: str) -> str:
    args = [str(run), "--tokenizer", str(tok), "--out", str(out), "--max-part-bytes", str(PART_BYTES), *extra]
    result = CliRunner().invoke(pack, args)
    assert result.exit_code == 0, result.output
    return result.output


def _megatron_blend(words: list[str]) -> tuple[list[str], list[float] | None]:
    """Megatron's own parser where it is importable (it needs torch), else the format its docstring gives:
    an even-length list is zipped (weight, prefix) pairs, weights as floats, prefixes stripped."""
    try:
        from megatron.core.datasets.utils import get_blend_from_list

        prefixes, weights = get_blend_from_list(words)
        return list(prefixes), weights
    except ImportError:
        if len(words) % 2:
            return [w.strip() for w in words], None
        return [w.strip() for w in words[1::2]], [float(w) for w in words[0::2]]


def _docmaps(out: Path) -> pa.Table:
    return pa.concat_tables(pq.read_table(p) for p in sorted(out.rglob("*.docmap.parquet")))


@pytest.fixture(scope="module")
def mixed(run_dir: Path, tokenizer_file: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A pack with weights and a cap, from a YAML mixture with a CLI override (local executor)."""
    out = tmp_path_factory.mktemp("mixed") / "pack"
    mixture = out.parent / "mixture.yaml"
    mixture.write_text("weights: {de: 0.9, fr: 0.2, en: 0.5}\ncap_tokens: {de: 4e3}\n")  # 4e3: a string in YAML 1.1
    _cli(run_dir, tokenizer_file, out, "--mixture", str(mixture), "--weights", "de=0.3")
    return out


def test_transformers_and_megatron_get_the_separator_as_eod(mixed: Path, run_dir: Path) -> None:
    import transformers  # the dev extra (test-only dependency)

    manifest = json.loads((mixed / "pack.json").read_text())
    eod = manifest["tokenizer"]["eod_id"]
    tok = transformers.AutoTokenizer.from_pretrained(str(mixed))  # what --tokenizer-model PACKDIR loads
    assert tok.eos_token_id == eod and tok.bos_token_id == eod and tok.pad_token_id == eod
    assert tok.eos_token == manifest["tokenizer"]["eod_token"]
    assert len(tok) == manifest["tokenizer"]["vocab_size"]  # Megatron's vocab_size is len(tokenizer)
    try:  # Megatron's HuggingFaceTokenizer (needs torch): eod is the tokenizer's eos_token_id
        from megatron.training.tokenizer.tokenizer import _HuggingFaceTokenizer

        assert _HuggingFaceTokenizer(str(mixed)).eod == eod
    except ImportError:
        pass
    # The pack's tokens are what this tokenizer gives for the text, plus the separator.
    texts = {}
    for shard in sorted((run_dir / "shards/lang=fr").glob("*.parquet")):
        t = pq.read_table(shard, columns=["id", "text"])
        texts.update(zip(t.column("id").to_pylist(), t.column("text").to_pylist(), strict=True))
    part = manifest["languages"]["fr"]["parts"][0]
    rows = pq.read_table(mixed / f"{part}.docmap.parquet").column("id").to_pylist()
    for doc_id, seq in list(zip(rows, read_megatron(mixed / part), strict=True))[:10]:
        assert tok(texts[doc_id], add_special_tokens=False).input_ids + [eod] == seq.tolist()


def test_blend_parses_like_megatron_and_weights_sum_as_given(mixed: Path) -> None:
    manifest = json.loads((mixed / "pack.json").read_text())
    text = (mixed / "blend.txt").read_text()
    assert text == manifest["mixture"]["blend"] + "\n" and manifest["mixture"]["weights"] == WEIGHTS
    prefixes, weights = _megatron_blend(text.split())
    assert weights is not None and len(prefixes) == len(weights)
    for prefix in prefixes:  # relative to the pack folder: Megatron opens PREFIX.bin and PREFIX.idx
        assert (mixed / f"{prefix}.bin").is_file() and (mixed / f"{prefix}.idx").is_file()
    by_lang: dict[str, float] = {}
    for prefix, weight in zip(prefixes, weights, strict=True):
        by_lang[prefix.split("/")[0][5:]] = by_lang.get(prefix.split("/")[0][5:], 0.0) + weight
    assert by_lang.keys() == WEIGHTS.keys()  # languages not named are packed, not blended
    assert all(abs(by_lang[lang] - w) < 1e-9 for lang, w in WEIGHTS.items())
    de = manifest["languages"]["de"]
    assert len(de["parts"]) > 1 and prefixes[: len(de["parts"])] == de["parts"]
    tokens = [(mixed / f"{p}.bin").stat().st_size // 2 for p in de["parts"]]  # uint16
    assert np.allclose(weights[: len(tokens)], [0.3 * t / sum(tokens) for t in tokens])  # split by tokens
    assert verify_packs(str(mixed)) == []


def test_cap_keeps_smallest_ids_whole_documents(
    mixed: Path,
    run_dir: Path,
    tokenizer_file: Path,
    tmp_path: Path,
) -> None:
    full = tmp_path / "full"
    _cli(run_dir, tokenizer_file, full)
    whole = _docmaps(full).to_pandas()
    capped = _docmaps(mixed).to_pandas()
    manifest = json.loads((mixed / "pack.json").read_text())
    de_all = whole[whole.language == "de"].sort_values("id")
    de_kept = capped[capped.language == "de"]
    want = de_all[de_all.token_count.cumsum() <= CAP["de"]]  # the id-order prefix within the cap
    assert 0 < len(want) < len(de_all)
    assert sorted(de_kept.id) == list(want.id)
    assert int(de_kept.token_count.sum()) <= CAP["de"] == manifest["languages"]["de"]["cap_tokens"]
    assert manifest["languages"]["de"]["documents_cut"] == len(de_all) - len(want)
    assert manifest["languages"]["de"]["tokens"] == int(de_kept.token_count.sum())
    # Other languages untouched: same documents, same token counts.
    for lang in ("fr", "en", "xx"):
        a, b = whole[whole.language == lang], capped[capped.language == lang]
        assert list(a.id) == list(b.id) and list(a.token_count) == list(b.token_count)
    # A kept document's tokens are the same as in the uncapped pack.
    fr_part = manifest["languages"]["fr"]["parts"][0]
    assert (mixed / f"{fr_part}.bin").read_bytes() == (full / f"{fr_part}.bin").read_bytes()


def test_mixture_errors_are_clear(run_dir: Path, tokenizer_file: Path, tmp_path: Path) -> None:
    base = [str(run_dir), "--tokenizer", str(tokenizer_file), "--out", str(tmp_path / "o")]
    for extra, said in (
        (["--weights", "zz=1"], "languages the run does not have: ['zz']"),
        (["--weights", "de"], "expected LANG=NUMBER"),
        (["--weights", "de=-1"], "finite number >= 0"),
        (["--weights", "de=0"], "at least one language needs a weight > 0"),
        (["--cap-tokens", "de=0"], "cap_tokens must be token counts >= 1"),
        (["--mixture", str(tmp_path / "none.yaml")], "mixture file not found"),
    ):
        result = CliRunner().invoke(pack, base + extra)
        assert result.exit_code == 1 and said in " ".join(result.output.split()), (extra, result.output)


def test_verify_covers_the_trainer_files(mixed: Path, tmp_path: Path) -> None:
    import shutil

    copy = tmp_path / "pack"
    shutil.copytree(mixed, copy)
    (copy / "special_tokens_map.json").write_text(json.dumps({"eos_token": "<unk>"}))
    (copy / "blend.txt").write_text("1 lang=de/part-99999\n")
    (copy / "tokenizer_config.json").unlink()
    problems = verify_packs(str(copy))
    assert "tokenizer_config.json: listed in pack.json but missing" in problems
    assert "special_tokens_map.json: sha256 or size differs from pack.json" in problems
    assert any(p.startswith("special_tokens_map.json: eos_token is not") for p in problems)
    assert "blend.txt: not the blend of this pack's parts recorded in pack.json" in problems


def _pack_on(executor: str, run: Path, tok: Path, out: Path) -> dict[str, bytes]:
    pack_run(str(run), str(tok), out=str(out), max_part_bytes=PART_BYTES, executor=executor,
             mixture=Mixture(WEIGHTS, CAP))  # fmt: skip
    assert verify_packs(str(out)) == []
    return pack_files(out)


def test_spark_packs_byte_identical(mixed: Path, run_dir: Path, tokenizer_file: Path, spark, tmp_path: Path) -> None:
    got = _pack_on("spark", run_dir, tokenizer_file, tmp_path / "spark")
    assert got == pack_files(mixed)


def test_ray_packs_byte_identical(
    mixed: Path,
    run_dir: Path,
    tokenizer_file: Path,
    ray_local,
    tmp_path: Path,
) -> None:
    got = _pack_on("ray", run_dir, tokenizer_file, tmp_path / "ray")
    assert got == pack_files(mixed)


def test_sigkill_of_the_driver_then_resume_is_byte_identical(
    mixed: Path,
    run_dir: Path,
    tokenizer_file: Path,
    tmp_path: Path,
) -> None:
    """`sovereign pack` as a real process, SIGKILLed as soon as a part is finished; the same command again
    keeps the finished parts and ends byte-identical to the uninterrupted pack."""
    out = tmp_path / "pack"
    exe = Path(sys.executable).parent / "sovereign"
    cmd = [str(exe), "pack", str(run_dir), "--tokenizer", str(tokenizer_file), "--out", str(out),
           "--max-part-bytes", str(PART_BYTES), "--weights", "de=0.3,fr=0.2,en=0.5", "--cap-tokens", "de=4000",
           "--workers", "1", "--device", "numpy"]  # fmt: skip  # numpy: the slowest encoder, a wider window
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while not list(out.glob(".work/lang=*/part-*.done.json")) and proc.poll() is None:
            assert time.monotonic() < deadline, "no part finished in 120 s"
            time.sleep(0.005)
        os.killpg(proc.pid, signal.SIGKILL)  # the process group this test started: the driver and any child
    finally:
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL, "pack finished before the kill: make the run bigger"
    assert not (out / "pack.json").exists()
    done = len(list(out.glob(".work/lang=*/part-*.done.json")))
    assert done >= 1
    resumed = subprocess.run(cmd[:-4], capture_output=True, text=True, timeout=300)  # default device and workers
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    said = " ".join(resumed.stderr.split())
    assert "resumed:" in said and "parts were already finished" in said
    assert pack_files(out) == pack_files(mixed)
