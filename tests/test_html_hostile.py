"""Issue 9 findings 3 and 4: nesting and attribute floods in extract and the rights scan, through the real stages
(resiliparse, lxml, a WARC written with warcio)."""

from __future__ import annotations

import time

import pytest

from sovereign.pipeline.synthetic import hostile_html as hh
from sovereign.stages import html_guard
from sovereign.stages.extract import ExtractStage
from tests.helpers.rights import run_stage
from tests.helpers.warc import rec


def _extract(raw: bytes):
    return ExtractStage().apply({"_raw": raw, "_content_type": "text/html; charset=utf-8"})


def _best(fn, repeats: int = 3) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


@pytest.mark.parametrize("make", [hh.nested_divs, hh.attribute_flood])
def test_extract_floods_grow_near_linearly_and_keep_the_text(make):
    small, large = 4000, 32000  # 8x the size: quadratic was >= 64x (nesting 16k took 8.6 s, attrs 40k 5 s)
    out = _extract(make(large))
    assert "Stadtentwicklung" in out["text"]
    t_small = _best(lambda: _extract(make(small)))
    t_large = _best(lambda: _extract(make(large)))
    assert t_large / max(t_small, 1e-3) < 24, (t_small, t_large)


def test_normal_page_is_not_rewritten():
    page = hh.nested_divs(30).decode()
    assert html_guard.limit(page, html_guard.MAX_DEPTH) is page
    assert not html_guard.may_flood_attributes(page)


def test_guard_keeps_signal_attributes_beyond_the_cap():
    out = html_guard.limit(hh.optout_in_flooded_meta(2000).decode())
    assert 'name="tdm-reservation"' in out and 'content="1"' in out
    assert out.count(" a") < html_guard.MAX_ATTRS + 10


@pytest.mark.parametrize("depth", [300, 3000, 30000])
@pytest.mark.parametrize(
    ("signal", "reason"),
    [
        ("tdm-meta", "rights:tdm-reservation-meta"),
        ("robots-noai", "rights:meta-robots"),
        ("licence-nc", "rights:licence-conditional"),
    ],
)
def test_rights_sees_signals_after_a_deep_subtree(depth, signal, reason):
    url = "https://ex.eu/deep.html"
    params = {"overrides": {"licences": {"training_conditional": "drop"}}} if signal == "licence-nc" else {}
    out, _, _ = run_stage([rec(url, body=hh.optout_after_deep_subtree(depth, signal))], **params)
    status, why, evidence = out[url]
    assert (status, why) == ("dropped", reason), (status, why)
    if signal == "licence-nc":
        assert evidence["signal"]["licence"]["id"] == "CC-BY-NC-4.0"


def test_rights_sees_meta_in_an_attribute_flood():
    url = "https://ex.eu/flood.html"
    out, _, _ = run_stage([rec(url, body=hh.optout_in_flooded_meta(50_000))])
    assert out[url][:2] == ("dropped", "rights:tdm-reservation-meta")


def test_rights_fails_closed_when_the_page_stays_too_deep():
    # <span><div></span> is ignored by HTML parsers (the </span> meets a special element) but pops the guard's
    # simulated stack: nesting the guard cannot flatten. The page must not be kept unscanned.
    url = "https://ex.eu/evil.html"
    body = b"<html><body>" + b"<span><div></span>" * 2000 + hh.SIGNALS["tdm-meta"].encode() + b"</body></html>"
    out, _, _ = run_stage([rec(url, body=body)])
    assert out[url][0] in ("dropped", "quarantined"), out[url]


def test_the_fast_flood_candidate_search_finds_what_the_regex_finds() -> None:
    """The rights scan finds flood candidates in bytes from the gaps between ">" (numpy); it must find exactly the
    spans the linear regex ``<[A-Za-z][^>]{2 * FLOOD_MIN_ATTRS,}`` finds, around the threshold and at random."""
    import random
    import re

    regex = re.compile(rb"<[A-Za-z][^>]{" + str(2 * html_guard.FLOOD_MIN_ATTRS).encode() + rb",}")
    rnd = random.Random(5)
    n = 2 * html_guard.FLOOD_MIN_ATTRS
    cases = [b"", b"<", b"<a" + b"x" * n, b"<a" + b"x" * (n - 1), b"<a" + b"x" * n + b">", b">" * 10]
    cases += [b"<p " + b"a=1 " * k + b">" for k in (n // 4 - 1, n // 4, n // 4 + 1, n)]
    cases += [b"<script>if(a<b)" + b"y" * (n + 10) + b"<b c" + b"z" * n for _ in range(2)]
    for _ in range(300):
        size = rnd.randrange(50, 3 * n)
        cases.append(bytes(rnd.choices(b"<>ab =x\n\x00\xc3", weights=[2, 1, 5, 5, 8, 2, 8, 1, 1, 1], k=size)))
    for raw in cases:
        assert html_guard._long_tags_in_bytes(raw) == [(m.start(), m.end()) for m in regex.finditer(raw)]
