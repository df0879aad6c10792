"""croissant.json: Croissant 1.0 metadata with the Responsible-AI (RAI) fields. Fields come from the Parquet
schemas of the release's own files, so a column whose type changes (a string becoming a timestamp or a struct)
is described as it is, not as it was."""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from sovereign.pipeline.release.layout import DOCUMENTS, MANIFEST, README

# The @context mlcroissant 1.x writes for Croissant 1.0 (with the RAI vocabulary).
CONTEXT: dict[str, Any] = {
    "@language": "en",
    "@vocab": "https://schema.org/",
    "citeAs": "cr:citeAs",
    "column": "cr:column",
    "conformsTo": "dct:conformsTo",
    "cr": "http://mlcommons.org/croissant/",
    "rai": "http://mlcommons.org/croissant/RAI/",
    "data": {"@id": "cr:data", "@type": "@json"},
    "dataType": {"@id": "cr:dataType", "@type": "@vocab"},
    "dct": "http://purl.org/dc/terms/",
    "examples": {"@id": "cr:examples", "@type": "@json"},
    "extract": "cr:extract",
    "field": "cr:field",
    "fileProperty": "cr:fileProperty",
    "fileObject": "cr:fileObject",
    "fileSet": "cr:fileSet",
    "format": "cr:format",
    "includes": "cr:includes",
    "isLiveDataset": "cr:isLiveDataset",
    "jsonPath": "cr:jsonPath",
    "key": "cr:key",
    "md5": "cr:md5",
    "parentField": "cr:parentField",
    "path": "cr:path",
    "recordSet": "cr:recordSet",
    "references": "cr:references",
    "regex": "cr:regex",
    "repeated": "cr:repeated",
    "replace": "cr:replace",
    "sc": "https://schema.org/",
    "separator": "cr:separator",
    "source": "cr:source",
    "subField": "cr:subField",
    "transform": "cr:transform",
}
CONFORMS_TO = "http://mlcommons.org/croissant/1.0"
PARQUET = "application/x-parquet"


def data_type(t: pa.DataType) -> str | None:
    """The Croissant/schema.org type of a scalar Arrow type; None for nested types (described with subFields)."""
    if pa.types.is_boolean(t):
        return "sc:Boolean"
    if pa.types.is_integer(t):
        return "sc:Integer"
    if pa.types.is_floating(t) or pa.types.is_decimal(t):
        return "sc:Float"
    if pa.types.is_timestamp(t):
        return "sc:DateTime"
    if pa.types.is_date(t):
        return "sc:Date"
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_binary(t) or pa.types.is_large_binary(t):
        return "sc:Text"
    return None


def field_node(record_set: str, file_set: str, arrow_field: pa.Field, column: str | None = None,
               path: str = "") -> dict[str, Any]:  # fmt: skip
    """One Croissant field for a Parquet column; a struct becomes subFields read from the column by jsonPath."""
    fid = f"{record_set}/{path or arrow_field.name}"
    node: dict[str, Any] = {"@type": "cr:Field", "@id": fid, "name": arrow_field.name}
    t = arrow_field.type
    top = column or arrow_field.name
    source: dict[str, Any] = {"fileSet": {"@id": file_set}, "extract": {"column": top}}
    if path:
        source["transform"] = {"jsonPath": path.split("/", 1)[1].replace("/", ".")}
    if pa.types.is_struct(t):
        node["description"] = f"struct column `{top}`" if not path else f"field of `{top}`"
        node["subField"] = [
            field_node(record_set, file_set, t.field(i), top, f"{path or arrow_field.name}/{t.field(i).name}")
            for i in range(t.num_fields)
        ]
        return node
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        node["repeated"] = True
        t = t.value_type
    scalar = data_type(t)
    if scalar is None:  # maps and deeper nesting: described, handed through as the reader decodes them
        node["description"] = f"Parquet type {arrow_field.type}"
        scalar = "sc:Text"
    node["dataType"] = scalar
    node["source"] = source
    return node


def record_set(rs_id: str, file_set: str, schema: pa.Schema, description: str) -> dict[str, Any]:
    return {
        "@type": "cr:RecordSet",
        "@id": rs_id,
        "name": rs_id,
        "description": description,
        "field": [field_node(rs_id, file_set, schema.field(i)) for i in range(len(schema))],
    }


def file_set(fs_id: str, includes: str, description: str) -> dict[str, Any]:
    return {
        "@type": "cr:FileSet",
        "@id": fs_id,
        "name": fs_id,
        "description": description,
        "encodingFormat": PARQUET,
        "includes": includes,
    }


def croissant(
    name: str,
    version: str,
    description: str,
    languages: dict[str, int],
    documents_schema: pa.Schema,
    manifest_schema: pa.Schema,
    readme_sha256: str,
    rai: dict[str, Any],
    licence_text: str,
) -> dict[str, Any]:
    """The croissant.json object. The distribution: the card (a FileObject with its sha256, which 1.0 requires of
    every FileObject), all documents, each language's documents, the manifest (FileSets; the release's SHA256SUMS
    has their digests)."""
    distribution: list[dict[str, Any]] = [
        {
            "@type": "cr:FileObject",
            "@id": "card",
            "name": "card",
            "description": "The dataset card (README.md).",
            "contentUrl": README,
            "encodingFormat": "text/markdown",
            "sha256": readme_sha256,
        },
        file_set("documents-files", f"{DOCUMENTS}/*/*.parquet", "Kept documents, all languages."),
    ]
    distribution += [
        file_set(f"documents-{lang}-files", f"{DOCUMENTS}/lang={lang}/*.parquet", f"Kept documents in language {lang}.")
        for lang in sorted(languages)
    ]
    distribution.append(
        file_set("manifest-files", f"{MANIFEST}/*.parquet", "One row per input record: kept, dropped or quarantined.")
    )
    return {
        "@context": CONTEXT,
        "@type": "sc:Dataset",
        "conformsTo": CONFORMS_TO,
        "name": name,
        "description": description,
        "version": version,
        "citeAs": f"{name} {version} (Sovereign release)",
        "license": licence_text,
        "inLanguage": sorted(languages),
        "url": README,
        "distribution": distribution,
        "recordSet": [
            record_set("documents", "documents-files", documents_schema, "One record per kept document."),
            record_set("manifest", "manifest-files", manifest_schema, "One record per input record and its fate."),
        ],
        **rai,
    }
