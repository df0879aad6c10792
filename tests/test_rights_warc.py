"""Rights stage end to end on real WARC bytes written here with warcio and read back by the real ingest
(pipeline.ingest, on fastwarc): host captures (robots.txt, tdmrep.json) go to the host-evidence table, pages to
documents."""

from __future__ import annotations

import json

import pyarrow as pa

from sovereign.pipeline.schema import DOCUMENT_SCHEMA
from sovereign.stages.base import HostEvidence
from sovereign.stages.rights import RightsStage, host_evidence_table
from tests.helpers.rights import ingest_warc, run_stage
from tests.helpers.warc import rec, robots, warc_bytes


# ---------------------------------------------------------------------------------------------------- tests
def test_robots_ai_agent_disallow_drops_with_group_and_rule():
    out, _, _ = run_stage(
        [
            robots("User-agent: *\nAllow: /\n\nUser-agent: GPTBot\nDisallow: /news/\n"),
            rec("https://ex.eu/news/a.html"),
            rec("https://ex.eu/about.html"),
        ]
    )
    status, reason, ev = out["https://ex.eu/news/a.html"]
    assert (status, reason) == ("dropped", "rights:robots-disallow")
    assert ev["signal"]["agent"] == "GPTBot" and ev["signal"]["group"] == "gptbot"
    assert ev["signal"]["rule"] == "disallow: /news/"
    assert ev["signal"]["capture"]["url"] == "https://ex.eu/robots.txt"
    assert ev["policy_rule"].startswith("signals.robots_txt")
    assert out["https://ex.eu/about.html"][0] == "kept"
    assert out["https://ex.eu/about.html"][2]["checks"]["robots"]["result"] == "allow"


def test_rfc9309_precedence_through_the_stage():
    body = "User-agent: *\nAllow: /p\nDisallow: /\nAllow: /folder\nDisallow: /folder\nDisallow: /*.pdf$\n"
    recs = [robots(body)] + [rec(f"https://ex.eu{p}") for p in ("/page", "/x", "/folder/x", "/a/b.pdf", "/a/b.pdf?x=1")]
    # Only "*" evaluated: a specific group for GPTBot would otherwise replace it.
    out, _, _ = run_stage(recs, ai_user_agents=["*"])
    assert out["https://ex.eu/page"][0] == "kept"  # longest match /p beats /
    assert out["https://ex.eu/x"][1] == "rights:robots-disallow"
    assert out["https://ex.eu/folder/x"][0] == "kept"  # allow wins a tie
    assert out["https://ex.eu/a/b.pdf"][1] == "rights:robots-disallow"  # "$" anchors the end
    assert out["https://ex.eu/a/b.pdf?x=1"][1] == "rights:robots-disallow"  # still under Disallow: /


def test_specific_group_replaces_star_group():
    body = "User-agent: *\nDisallow: /\n\nUser-agent: GPTBot\nAllow: /\n"
    out, _, _ = run_stage([robots(body), rec("https://ex.eu/a")], ai_user_agents=["GPTBot"])
    assert out["https://ex.eu/a"][0] == "kept"
    out, _, _ = run_stage([robots(body), rec("https://ex.eu/a")], ai_user_agents=["CCBot"])
    assert out["https://ex.eu/a"][2]["signal"]["group"] == "*"


def test_robots_status_codes_and_missing():
    recs = [
        robots("User-agent: *\nDisallow: /\n", host="https://gone.eu", status=404),
        robots("", host="https://down.eu", status=503),
        rec("https://gone.eu/a"),
        rec("https://down.eu/a"),
        rec("https://none.eu/a"),
    ]
    out, _, _ = run_stage(recs)
    assert out["https://gone.eu/a"][0] == "kept"  # 4xx: allow all
    assert out["https://gone.eu/a"][2]["checks"]["robots"]["result"] == "allow-all"
    assert out["https://down.eu/a"][1] == "rights:robots-unreachable"  # 5xx: disallow all
    assert out["https://none.eu/a"][2]["checks"]["robots"]["result"] == "missing"
    out, _, _ = run_stage(recs, overrides={"missing": {"robots": "drop"}, "robots": {"on_5xx": "allow"}})
    assert out["https://none.eu/a"][1] == "rights:robots-missing"
    assert out["https://down.eu/a"][0] == "kept"


def test_robots_redirect_followed_within_captures_and_snapshot_by_time():
    recs = [
        rec(
            "http://ex.eu/robots.txt",
            b"",
            status=301,
            headers=[("Location", "https://ex.eu/robots.txt")],
            date="2025-01-01T00:00:00Z",
        ),
        robots("User-agent: CCBot\nDisallow: /\n", date="2025-01-01T00:00:00Z"),
        robots("User-agent: CCBot\nAllow: /\n", date="2025-06-01T00:00:00Z"),
        rec("http://ex.eu/a", date="2025-03-01T00:00:00Z"),
        rec("https://ex.eu/b", date="2025-03-01T00:00:00Z"),
        rec("https://ex.eu/c", date="2025-07-01T00:00:00Z"),
    ]
    out, _, _ = run_stage(recs)
    assert out["http://ex.eu/a"][1] == "rights:robots-disallow"
    assert out["http://ex.eu/a"][2]["signal"]["capture"]["redirects"][-1] == "https://ex.eu/robots.txt"
    assert out["https://ex.eu/b"][1] == "rights:robots-disallow"  # the capture in force in March
    assert out["https://ex.eu/c"][0] == "kept"  # the June capture allows
    out, _, _ = run_stage(recs, overrides={"robots": {"snapshot": "latest"}})
    assert out["https://ex.eu/b"][0] == "kept"


def test_robots_content_usage_and_content_signal_lines():
    body = "User-Agent: *\nAllow: /\nDisallow: /never/\nContent-Usage: train-ai=n\nContent-Usage: /ai-ok/ train-ai=y\n"
    out, _, _ = run_stage(
        [robots(body), rec("https://ex.eu/test"), rec("https://ex.eu/ai-ok/test")], ai_user_agents=["*"]
    )
    assert out["https://ex.eu/test"][1] == "rights:robots-content-usage"
    assert out["https://ex.eu/test"][2]["signal"]["line"] == "Content-Usage: train-ai=n"
    assert out["https://ex.eu/ai-ok/test"][0] == "kept"
    body = "User-agent: *\nContent-Signal: search=yes, ai-train=no\nAllow: /\n"
    out, _, _ = run_stage([robots(body), rec("https://ex.eu/x")])
    assert out["https://ex.eu/x"][1] == "rights:robots-content-signal"


def test_tdm_headers_meta_and_file_with_precedence():
    tdm = rec(
        "https://ex.eu/.well-known/tdmrep.json",
        json.dumps(
            [
                {"location": "/a/", "tdm-reservation": 1, "tdm-policy": "https://ex.eu/p.json"},
                {"location": "/b/*.html", "tdm-reservation": 0},
            ]
        ).encode(),
        ctype="application/json",
    )
    meta0 = b'<html><head><meta name="tdm-reservation" content="0"></head><body>x</body></html>'
    recs = [
        tdm,
        rec("https://ex.eu/a/1.html"),
        rec("https://ex.eu/a/2.html", body=meta0),  # file 1, meta 0
        rec("https://ex.eu/b/3.html", headers=[("TDM-Reservation", "1")]),  # file 0, header 1
        rec("https://ex.eu/c/4.html", headers=[("tdm-reservation", "yes")]),  # invalid -> unset
        rec("https://ex.eu/c/5.html", headers=[("tdm-reservation", "1"), ("tdm-policy", "https://ex.eu/p")]),
    ]
    out, _, _ = run_stage(recs)
    assert out["https://ex.eu/a/1.html"][1] == "rights:tdm-reservation-file"
    assert out["https://ex.eu/a/1.html"][2]["signal"]["tdm_policy"] == "https://ex.eu/p.json"
    assert out["https://ex.eu/a/2.html"][1] == "rights:tdm-reservation-file"  # conservative default
    assert out["https://ex.eu/b/3.html"][1] == "rights:tdm-reservation-header"
    assert out["https://ex.eu/c/4.html"][0] == "kept"
    assert out["https://ex.eu/c/4.html"][2]["checks"]["tdmrep"]["invalid_values_ignored"]
    assert out["https://ex.eu/c/5.html"][2]["signal"]["signal"].startswith("tdm-reservation: 1")
    out, _, _ = run_stage(recs, overrides={"tdmrep_precedence": "spec"})
    assert out["https://ex.eu/a/2.html"][0] == "kept"  # the page's 0 overrides the site's 1
    assert "precedence=spec" in out["https://ex.eu/a/2.html"][2]["checks"]["tdmrep"]["rule"]


def test_malformed_tdmrep_json_and_headers_do_not_crash():
    recs = [
        rec("https://ex.eu/.well-known/tdmrep.json", b"[{not json", ctype="application/json"),
        rec("https://ex.eu/a", headers=[("Content-Usage", "Train-AI=n"), ("X-Robots-Tag", "unavailable_after: 2025")]),
    ]
    out, _, _ = run_stage(recs)
    status, _, ev = out["https://ex.eu/a"]
    assert status == "kept"
    assert ev["checks"]["tdmrep"]["file"]["result"] == "unreadable"
    assert ev["checks"]["content_usage_unreadable"] == ["Train-AI=n"]
    out, _, _ = run_stage(recs, overrides={"unreadable": {"tdmrep": "drop"}})
    assert out["https://ex.eu/a"][1] == "rights:tdmrep-unreadable"


def test_header_and_meta_ai_signals():
    recs = [
        rec("https://ex.eu/1", headers=[("Content-Usage", "train-ai=n, search=y")]),
        rec("https://ex.eu/2", headers=[("Content-Usage", 'train-ai="n"')]),  # a string, not a token: unknown
        rec("https://ex.eu/3", headers=[("X-Robots-Tag", "noai, noimageai")]),
        rec("https://ex.eu/4", headers=[("X-Robots-Tag", "GPTBot: noindex")]),
        rec("https://ex.eu/5", headers=[("X-Robots-Tag", "googlebot: noindex")]),
        rec("https://ex.eu/6", body=b'<html><head><meta name="robots" content="noai"></head></html>'),
        rec("https://ex.eu/7", body=b'<html><head><meta name="CCBot" content="noindex, nofollow"></head></html>'),
        rec("https://ex.eu/8", headers=[("content-signal", "ai-train=no, search=yes")]),
    ]
    out, _, _ = run_stage(recs)
    assert out["https://ex.eu/1"][1] == "rights:content-usage-header"
    assert out["https://ex.eu/1"][2]["signal"]["header"] == "Content-Usage: train-ai=n, search=y"
    assert out["https://ex.eu/2"][0] == "kept"
    assert out["https://ex.eu/3"][1] == "rights:x-robots-tag"
    assert out["https://ex.eu/4"][1] == "rights:x-robots-tag"
    assert out["https://ex.eu/5"][0] == "kept"
    assert out["https://ex.eu/6"][1] == "rights:meta-robots"
    assert out["https://ex.eu/7"][1] == "rights:meta-robots"
    assert out["https://ex.eu/8"][1] == "rights:content-signal-header"
    out, _, _ = run_stage(recs, overrides={"signals": {"x_robots_tag": False}})
    assert out["https://ex.eu/3"][0] == "kept"


def test_conflicting_signals_record_the_others():
    recs = [
        robots("User-agent: *\nDisallow: /\n"),
        rec("https://ex.eu/a", headers=[("tdm-reservation", "1"), ("Content-Usage", "train-ai=n")]),
    ]
    out, _, _ = run_stage(recs)
    status, reason, ev = out["https://ex.eu/a"]
    assert reason == "rights:robots-disallow"
    assert set(ev["other_signals"]) == {"rights:tdm-reservation-header", "rights:content-usage-header"}
    assert len(ev["policy_sha256"]) == 64


def test_licence_kept_with_evidence_and_conditional_policy():
    page = (
        b'<html><head><link rel="license" href="https://creativecommons.org/licenses/by-nc-sa/3.0/de/"></head></html>'
    )
    recs = [
        rec("https://ex.eu/a", body=page),
        rec("https://ex.eu/b", body=b'<a href="http://creativecommons.org/publicdomain/zero/1.0/">CC0</a>'),
    ]
    out, _, kept = run_stage(recs)
    # The shards carry the registry id, the variant as detected, the registry's class and conditions.
    assert out["https://ex.eu/a"][:2] == ("kept", "CC-BY-NC-SA")
    lic = out["https://ex.eu/a"][2]["checks"]["licence"]
    assert lic["where"] == "rel-license" and lic["training"] == "conditional" and lic["registry_entry"] == "CC-BY-NC-SA"
    assert lic["id"] == "CC-BY-NC-SA-3.0-DE"  # evidence unchanged: the variant and its registry entry
    assert out["https://ex.eu/b"][:2] == ("kept", "CC0-1.0")
    rows = {r["url"]: r for r in kept.to_pylist()}
    assert rows["https://ex.eu/a"]["licence_spdx"] == "CC-BY-NC-SA-3.0-DE"
    assert rows["https://ex.eu/a"]["licence_training"] == "conditional"
    assert rows["https://ex.eu/a"]["licence_conditions"] == ["attribution", "share-alike", "non-commercial"]
    assert rows["https://ex.eu/b"]["licence_training"] == "yes" and rows["https://ex.eu/b"]["licence_conditions"] == []
    assert kept.schema.field("licence").type == pa.string()
    assert kept.schema.field("licence_conditions").type == pa.list_(pa.string())
    out, _, _ = run_stage(recs, overrides={"sources": {"web": {"licences": {"training_conditional": "drop"}}}})
    assert out["https://ex.eu/a"][1] == "rights:licence-conditional"
    assert out["https://ex.eu/b"][0] == "kept"


def test_text_inputs_licence_column_dcat_and_host_default(tmp_path):
    catalogue = {
        "@context": {"dct": "http://purl.org/dc/terms/", "dcat": "http://www.w3.org/ns/dcat#"},
        "@graph": [
            {
                "@id": "https://data.example.de/ds/1",
                "@type": "dcat:Dataset",
                "dct:identifier": "ds-1",
                "dct:license": {"@id": "http://dcat-ap.de/def/licenses/dl-zero-de/2.0"},
                "dcat:distribution": [{"@id": "https://data.example.de/dist/1"}],
            },
            {
                "@id": "https://data.example.de/ds/2",
                "@type": "dcat:Dataset",
                "dct:identifier": "ds-2",
                "dcat:distribution": [{"@id": "https://data.example.de/dist/2"}],
            },
            {
                "@id": "https://data.example.de/dist/2",
                "@type": "dcat:Distribution",
                "dct:license": "https://www.govdata.de/dl-de/by-2-0",
            },
        ],
    }
    path = tmp_path / "catalogue.jsonld"
    path.write_text(json.dumps(catalogue))

    def doc(i: int, meta: dict | None, url: str | None = None) -> dict:
        return {"id": f"t{i}", "text": "Gesetzestext.", "url": url, "source": "gov", "_metadata": json.dumps(meta)}

    extra = [
        doc(1, {"licence": "etalab-2.0"}),
        doc(2, {"dataset": "ds-1"}),
        doc(3, {"dataset": "ds-2"}),
        doc(4, {"licence": "all rights reserved?"}),
        doc(5, None, "https://commission.europa.eu/x"),
    ]
    docs = [{k: d.get(k) for k in DOCUMENT_SCHEMA.names} for d in extra]
    stage = RightsStage(dcat_catalogue=str(path))
    stage.host_evidence = HostEvidence(host_evidence_table([]))
    res = stage.process(pa.Table.from_pylist(docs, schema=DOCUMENT_SCHEMA))
    rows = {r["id"]: r for r in res.kept.to_pylist()}
    got = {i: (r["licence"], json.loads(r["_rights_evidence"])) for i, r in rows.items()}
    assert got["t1"][0] == "etalab-2.0"
    assert got["t2"][0] == "DL-DE-ZERO-2.0" and got["t2"][1]["checks"]["licence"]["where"] == "dcat"
    assert got["t3"][0] == "DL-DE-BY-2.0"
    assert got["t4"][0] is None and got["t4"][1]["checks"]["licence_unrecognised"]
    # No licence found: null licence with the explicit "unknown" class, conditions unknown (null, not []).
    assert (rows["t4"]["licence_training"], rows["t4"]["licence_conditions"], rows["t4"]["licence_spdx"]) == (
        "unknown",
        None,
        None,
    )
    assert got["t5"][0] == "CC-BY" and got["t5"][1]["checks"]["licence"]["where"] == "host-default"
    assert rows["t5"]["licence_spdx"] == "CC-BY-4.0" and rows["t5"]["licence_training"] == "yes"


def test_robots_source_folder_and_describe(tmp_path):
    (tmp_path / "ex.eu.txt").write_text("User-agent: ClaudeBot\nDisallow: /\n")
    out, stage, _ = run_stage([rec("https://ex.eu/a")], robots_source=str(tmp_path))
    assert out["https://ex.eu/a"][2]["signal"]["agent"] == "ClaudeBot"
    d = stage.describe()
    assert d["policy"]["ai_user_agents"][0] == "*" and len(d["policy_sha256"]) == 64 and len(d["registry_sha256"]) == 64
    json.dumps(d)  # run.json must be able to hold it


def test_no_document_text_in_evidence():
    secret = "Maria Musterfrau lives at Hauptstrasse 1"
    docs, evidence = ingest_warc(
        warc_bytes([robots("User-agent: *\nDisallow: /\n"), rec("https://ex.eu/a"), rec("https://ex.eu.org/b")])
    )
    for d in docs:
        d["text"] = secret
    stage = RightsStage()
    stage.host_evidence = HostEvidence(evidence)
    res = stage.process(pa.Table.from_pylist(docs, schema=DOCUMENT_SCHEMA))
    blob = json.dumps(res.decisions) + json.dumps(res.kept.column("_rights_evidence").to_pylist())
    assert "Musterfrau" not in blob
