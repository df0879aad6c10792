"""Where each file of a finished run goes in a release (docs/releases.md): one root per table, so that readers that
infer a schema from a folder (HF datasets, Spark, DuckDB globs) never meet two tables in one tree."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sovereign.pipeline.runinfo import RUN_JSON
from sovereign.pipeline.storage import Store, is_safe_rel

README = "README.md"
CROISSANT = "croissant.json"
RELEASE_JSON = "release.json"
SHA256SUMS = "SHA256SUMS"
DOCUMENTS = "documents"
MANIFEST = "manifest"
PACKS = "packs"
DOCMAPS = "docmaps"
# Written by the release itself (not copied from the run); release.json is written last and marks a complete release.
GENERATED = (README, CROISSANT, SHA256SUMS, RELEASE_JSON)

_DOCMAP = re.compile(r"^(?P<dir>(?:.+/)?)(?P<part>[^/]+)\.docmap\.parquet$")


@dataclass(frozen=True)
class CopyItem:
    """One file of the run and where it goes in the release."""

    src: str  # relative to the run
    dest: str  # relative to the release
    sha256: str | None  # the digest the run recorded for it (None: not recorded, e.g. files of a pack's own folder)


def plan_copies(run: Store, outputs: dict[str, dict], pack_files: dict[str, dict[str, dict]]) -> list[CopyItem]:
    """Every file the release copies, sorted by destination. `outputs` is run.json's outputs (shards/, manifest/);
    `pack_files` maps a pack name to its pack.json `files` (paths relative to the pack folder)."""
    items = []
    for rel, info in outputs.items():
        top, rest = rel.split("/", 1)
        dest = f"{DOCUMENTS}/{rest}" if top == "shards" else f"{MANIFEST}/{rest}"
        items.append(CopyItem(rel, dest, info["sha256"]))
    for name, files in pack_files.items():
        for rel in run.list(f"{PACKS}/{name}"):
            if rel.startswith(".") or "/." in rel:
                continue  # the packer's work folder of an interrupted pack
            digest = (files.get(rel) or {}).get("sha256")
            items.append(CopyItem(f"{PACKS}/{name}/{rel}", pack_dest(name, rel), digest))
    items.append(CopyItem(RUN_JSON, RUN_JSON, None))
    for item in items:
        if not is_safe_rel(item.dest):
            raise ValueError(f"unsafe path in the run: {item.src[:200]}")
    return sorted(items, key=lambda i: i.dest)


def pack_dest(pack: str, rel: str) -> str:
    """A pack's doc maps move to docmaps/<pack>/ (no Parquet beside .bin/.idx: Spark would try to read those as
    Parquet footers), dropping the ".docmap" infix since the folder says it; everything else stays under packs/."""
    m = _DOCMAP.match(rel)
    if m:
        return f"{DOCMAPS}/{pack}/{m['dir']}{m['part']}.parquet"
    return f"{PACKS}/{pack}/{rel}"


def languages_of(dests: list[str]) -> list[str]:
    """ISO codes of the documents' language folders, sorted."""
    langs = {d.split("/")[1][len("lang=") :] for d in dests if d.startswith(f"{DOCUMENTS}/lang=")}
    return sorted(langs)
