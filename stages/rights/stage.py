"""The rights stage: drop documents whose rightsholder reserved text and data mining, tag the rest with a licence.

Every drop names the signal (header line, meta tag, robots.txt group and rule, tdmrep.json entry) and the policy
rule; every keep carries the same in ``_rights_evidence``. Host captures are parsed once per host and worker.
Values quoted from the crawl pass through ``stages.rights.redact.shape`` (no personal data in evidence).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar
from urllib.parse import urlsplit

import pyarrow as pa
from pydantic import Field, model_validator

from sovereign.pipeline.errors import ConfigError
from sovereign.stages.base import HOST_CAPTURES, Column, DocumentStage, Drop, HostEvidence, StageError, StageParams
from sovereign.stages.registry import register
from sovereign.stages.rights import tdmrep
from sovereign.stages.rights.aipref import parse_content_signal, parse_content_usage
from sovereign.stages.rights.evidence import (
    BoundedCache,
    Capture,
    HostIndex,
    header_pairs,
    header_values,
    host_key,
    load_robots_source,
)
from sovereign.stages.rights.evidence import host_evidence_table as _host_table
from sovereign.stages.rights.html import HtmlSignals, parse_html
from sovereign.stages.rights.licences import (
    LICENCE_CONDITIONS,
    TRAINING_ORDER,
    LicenceMatch,
    LicenceMatcher,
    licence_columns,
    load_dcat,
)
from sovereign.stages.rights.policy import Policy, canonical_sha256, load_policy, load_registry, policy_for_source
from sovereign.stages.rights.reasons import REASONS
from sovereign.stages.rights.redact import shape, shape_all
from sovereign.stages.rights.robots import RobotsFile, decode_robots
from sovereign.stages.rights.signals import optout_directives, split_x_robots

# Parsed robots.txt / tdmrep.json files kept per worker (most recently used): bounded whatever the host count.
_PARSED_CAPTURES = 64

# Where a licence was found, strongest first (licence column and catalogue, then rel=license, ...).
_LICENCE_RANK = [
    "metadata",
    "dcat",
    "rel-license",
    "meta",
    "json-ld",
    "link",
    "anchor",
    "badge",
    "text",
    "host-default",
]


@dataclass
class _Finding:
    reason: str
    rule: str
    evidence: dict[str, Any]


def _signal(note: dict[str, Any]) -> dict[str, Any]:
    """A capture check's note as a drop's signal: the same keys as every other signal (the capture under
    ``capture``); the note's rule is the drop's ``policy_rule`` already."""
    return {k: v for k, v in note.items() if k != "rule"}


@dataclass
class _Checks:
    findings: list[_Finding] = field(default_factory=list)
    notes: dict[str, Any] = field(default_factory=dict)

    def drop(self, reason: str, rule: str, /, **evidence: Any) -> None:
        self.findings.append(_Finding(reason, rule, evidence))


@register
class RightsStage(DocumentStage):
    name = "rights"
    version = "2"  # 2: licence is the registry id, with licence_spdx, licence_training, licence_conditions
    columns: ClassVar[tuple[Column, ...]] = (
        Column("licence", pa.string(), "registry id (licenses/registry.yaml) of the licence found; null: none found"),
        Column("licence_spdx", pa.string(), "the licence as detected, with version and port: CC-BY-SA-3.0-DE"),
        Column("licence_training", pa.string(), "the registry's training class: yes | conditional | no | unknown"),
        Column(
            "licence_conditions",
            pa.list_(pa.string()),
            f"what the licence asks of a reuse: {', '.join(LICENCE_CONDITIONS.values())} (null: no licence found)",
        ),
        Column("_rights_evidence", pa.string(), "internal: JSON of the checks behind a keep, for the manifest"),
    )
    reasons: ClassVar[dict[str, str]] = REASONS
    side_inputs: ClassVar[tuple[str, ...]] = (HOST_CAPTURES,)

    class Params(StageParams):
        policy: str | None = Field(None, description="policy YAML; default licenses/policy.yaml")
        registry: str | None = Field(None, description="licence registry YAML; default licenses/registry.yaml")
        overrides: dict[str, Any] = Field(default_factory=dict, description="merged over the policy file")
        ai_user_agents: list[str] | None = Field(None, description="replaces the policy's ai_user_agents")
        robots_source: str | None = Field(None, description="WARC or folder of <host>.txt with more robots.txt")
        dcat_catalogue: str | None = Field(None, description="DCAT-AP JSON-LD mapping datasets to dct:license")

        @model_validator(mode="after")
        def _policy_loads(self) -> RightsStage.Params:
            try:
                load_policy(self.policy, _overrides(self))
                load_registry(self.registry)
            except ConfigError as exc:
                raise ValueError(str(exc)) from None
            return self

    params: Params

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        checked = self.params
        self.policy: Policy = load_policy(checked.policy, _overrides(checked))
        self.registry, self.registry_sha256 = load_registry(checked.registry)
        self.matcher = LicenceMatcher(self.registry)
        self.policy_dump = self.policy.model_dump(mode="json")
        self.policy_sha256 = canonical_sha256(self.policy_dump)
        self.index = HostIndex(None)
        self.dcat: dict[str, str] = {}
        self._source_policies: dict[str | None, Policy] = {}
        self._robots: dict[tuple, RobotsFile | None] = BoundedCache(_PARSED_CAPTURES)
        self._tdm_files: dict[tuple, tdmrep.TdmRepFile] = BoundedCache(_PARSED_CAPTURES)
        self._ai_sets: dict[int, tuple[Policy, set[str]]] = {}  # id(policy) -> (policy kept alive, agents)

    @property
    def host_evidence(self) -> HostEvidence | None:
        return self.side_input(HOST_CAPTURES)

    @host_evidence.setter
    def host_evidence(self, value: HostEvidence) -> None:
        self.inputs[HOST_CAPTURES] = value

    def describe(self) -> dict[str, Any]:
        out = super().describe()
        out.update(
            {
                "policy": self.policy_dump,
                "policy_sha256": self.policy_sha256,
                "registry_sha256": self.registry_sha256,
            }
        )
        return out

    def setup(self) -> None:
        extra = _host_table(load_robots_source(self.params.robots_source)) if self.params.robots_source else None
        self.index = HostIndex.from_evidence(self.host_evidence, extra)  # bodies read on demand, not held
        if self.params.dcat_catalogue:
            try:
                self.dcat = load_dcat(self.params.dcat_catalogue)
            except (OSError, ValueError) as exc:
                msg = f"{self.params.dcat_catalogue}: cannot read the DCAT catalogue ({type(exc).__name__})"
                raise StageError(msg) from None

    # ----------------------------------------------------------------- per document
    def apply(self, doc: dict[str, Any]) -> dict[str, Any] | Drop:
        policy = self._policy_for(doc.get("source"))
        url = doc.get("url") or ""
        host = host_key(url) if url else None
        pairs = header_pairs(doc.get("_http_headers"))
        html = self._html(doc)
        metadata = _json_object(doc.get("_metadata"))
        checks = _Checks()
        if host:
            self._check_robots(url, host, doc.get("fetched_at"), policy, checks)
        self._check_tdmrep(url, host, doc.get("fetched_at"), pairs, html, policy, checks)
        self._check_headers(pairs, policy, checks)
        if html is not None and policy.signals.meta_robots:
            self._check_meta_robots(html, policy, checks)
        licence = self._licence(doc, html, metadata, policy, checks)
        if checks.findings:
            first = checks.findings[0]
            evidence = {"signal": first.evidence, "policy_rule": first.rule, "policy_sha256": self.policy_sha256}
            others = sorted({f.reason for f in checks.findings[1:]} - {first.reason})
            if others:
                evidence["other_signals"] = others
            return Drop(first.reason, evidence)
        keep = {"policy_sha256": self.policy_sha256, "checks": checks.notes}
        return {
            **licence_columns(licence),
            "_rights_evidence": json.dumps(keep, sort_keys=True, ensure_ascii=False, separators=(",", ":")),
        }

    def _policy_for(self, source: str | None) -> Policy:
        if source not in self._source_policies:
            self._source_policies[source] = policy_for_source(self.policy, source)
        return self._source_policies[source]

    def _ai_agents(self, policy: Policy) -> set[str]:
        """The policy's AI user agents in lower case, without "*" (built once per policy, not per document)."""
        hit = self._ai_sets.get(id(policy))
        if hit is None or hit[0] is not policy:
            hit = self._ai_sets[id(policy)] = (policy, {a.lower() for a in policy.ai_user_agents if a != "*"})
        return hit[1]

    @staticmethod
    def _html(doc: dict[str, Any]) -> HtmlSignals | None:
        raw = doc.get("_raw")
        if not raw:
            return None
        ctype = (doc.get("_content_type") or "text/html").lower()
        if "html" not in ctype and "xml" not in ctype:
            return None
        return parse_html(raw, doc.get("_charset"))

    # ----------------------------------------------------------------- robots.txt
    def _capture(
        self, host: str, kind: str, fetched_at: datetime | None, policy: Policy
    ) -> tuple[Capture | None, dict]:
        cap = self.index.find(host, kind, fetched_at, policy.robots.snapshot)
        if cap is None:
            return None, {"result": "missing", "host": host}
        final, chain = self.index.follow(cap, policy.robots.max_redirects, policy.robots.snapshot)
        chain = shape_all(chain)  # Location targets are the site's free-form URLs
        ref = cap.ref()
        if len(chain) > 1:
            ref["redirects"] = chain
        if final is None:
            return None, {"result": "missing", "host": host, "capture": ref, "why": "redirect not captured"}
        return final, {"capture": final.ref() | ({"redirects": chain} if len(chain) > 1 else {})}

    def _robots_file(self, cap: Capture, policy: Policy) -> RobotsFile | None:
        key = (cap.url, cap.fetched_at, cap.source_uri, policy.robots.max_bytes)
        if key not in self._robots:
            text = decode_robots(cap.body, policy.robots.max_bytes)
            self._robots[key] = RobotsFile(text) if text is not None else None
        return self._robots[key]

    def _check_robots(self, url: str, host: str, fetched_at: datetime | None, policy: Policy, checks: _Checks) -> None:
        sig = policy.signals
        if not (sig.robots_txt or sig.robots_content_usage or sig.robots_content_signal):
            return
        cap, note = self._capture(host, "robots", fetched_at, policy)
        checks.notes["robots"] = note
        if cap is None:
            note["rule"] = f"missing.robots={policy.missing.robots}"
            if policy.missing.robots == "drop":
                checks.drop("rights:robots-missing", note["rule"], **_signal(note))
            return
        status = cap.http_status or 0
        if 400 <= status < 500 or 500 <= status < 600:
            what = policy.robots.on_4xx if status < 500 else policy.robots.on_5xx
            key = "on_4xx" if status < 500 else "on_5xx"
            note["rule"] = f"robots.{key}={what}"
            if what == "missing":
                note["rule"] += f", missing.robots={policy.missing.robots}"
                what = "disallow" if policy.missing.robots == "drop" else "allow"
            note["result"] = "disallow-all" if what == "disallow" else "allow-all"
            if what == "disallow" and sig.robots_txt:
                reason = "rights:robots-unreachable" if status >= 500 else "rights:robots-unavailable"
                checks.drop(reason, note["rule"] + " (RFC 9309 2.3.1)", **_signal(note))
            return
        rf = self._robots_file(cap, policy) if 200 <= status < 300 else None
        if rf is None:
            note["result"] = "unreadable"
            note["rule"] = f"unreadable.robots={policy.unreadable.robots}"
            if policy.unreadable.robots == "drop":
                checks.drop("rights:robots-unreadable", note["rule"], **_signal(note))
            return
        agents = policy.ai_user_agents
        if sig.robots_txt:
            denied = [v for v in (rf.decide(url, a) for a in agents) if not v.allowed]
            note["agents_evaluated"] = len(agents)
            if denied:
                note["result"] = "disallow"
                first = denied[0].evidence()
                first["rule"] = shape(first["rule"])  # the site's path pattern
                checks.drop(
                    "rights:robots-disallow",
                    "signals.robots_txt; ai_user_agents",
                    capture=note["capture"],
                    **first,
                    agents_disallowed=[v.agent for v in denied],
                )
                return
            note["result"] = "allow"
        for kind, flag, labels, reason in (
            ("usage", sig.robots_content_usage, policy.aipref_training_labels, "rights:robots-content-usage"),
            ("signal", sig.robots_content_signal, policy.content_signal_training_keys, "rights:robots-content-signal"),
        ):
            if not flag:
                continue
            for agent in agents:
                hits = [(rule, pref.disallowed(labels)) for rule, pref in rf.preferences(url, agent, kind)]
                hits = [(rule, lab) for rule, lab in hits if lab]
                if hits:
                    rule, lab = hits[0]
                    checks.drop(
                        reason,
                        f"signals.robots_content_{kind}; training labels",
                        capture=note["capture"],
                        agent=agent,
                        line=shape(rule.line),
                        labels=lab,
                    )
                    break

    # ----------------------------------------------------------------- TDMRep
    def _check_tdmrep(self, url, host, fetched_at, pairs, html, policy: Policy, checks: _Checks) -> None:
        sig = policy.signals
        steps: list[tdmrep.TdmValue | None] = []
        note: dict[str, Any] = {}
        if sig.tdmrep_file and host:
            cap, cnote = self._capture(host, "tdmrep", fetched_at, policy)
            note["file"] = cnote
            if cap is None:
                cnote["rule"] = f"missing.tdmrep={policy.missing.tdmrep}"
                if policy.missing.tdmrep == "drop":
                    checks.drop("rights:tdmrep-missing", cnote["rule"], **_signal(cnote))
            elif not 200 <= (cap.http_status or 0) < 300:
                cnote["result"] = "not implemented (no successful response; TDMRep 'file at origin')"
            elif cap.truncated:
                # Cut at the ingest's size cap: the rules we did not read may reserve this page. The protocol's
                # "unreadable = not implemented" is for the site's own errors, not for our cap: fail closed.
                cnote.update(result="truncated at the capture size cap", rule="truncated.tdmrep=drop")
                checks.drop("rights:tdmrep-truncated", cnote["rule"], **_signal(cnote))
            else:
                key = (cap.url, cap.fetched_at, cap.source_uri)
                if key not in self._tdm_files:
                    self._tdm_files[key] = tdmrep.TdmRepFile(cap.body)
                tf = self._tdm_files[key]
                if tf.error:
                    cnote.update(
                        result="unreadable", error=tf.error, rule=f"unreadable.tdmrep={policy.unreadable.tdmrep}"
                    )
                    if policy.unreadable.tdmrep == "drop":
                        checks.drop("rights:tdmrep-unreadable", cnote["rule"], **_signal(cnote))
                else:
                    hit = tf.match(url)
                    steps.append(hit)
                    cnote["result"] = "no matching rule (unset)" if hit is None else hit.signal
        if sig.tdm_reservation_header:
            steps.append(
                tdmrep.from_header(header_values(pairs, "tdm-reservation"), header_values(pairs, "tdm-policy"))
            )
        if sig.tdm_reservation_meta and html is not None:
            steps.append(tdmrep.from_meta(html.metas.get("tdm-reservation", []), html.metas.get("tdm-policy", [])))
        invalid = [s.signal for s in steps if s is not None and not s.valid]
        if invalid:
            note["invalid_values_ignored"] = invalid
        result, rule = tdmrep.combine(steps, policy.tdmrep_precedence)
        note["result"] = result.reservation if result else None
        note["rule"] = rule
        checks.notes["tdmrep"] = note
        if result is not None and result.reservation == 1:
            reason = {
                "tdmrep.json": "rights:tdm-reservation-file",
                "header": "rights:tdm-reservation-header",
                "meta": "rights:tdm-reservation-meta",
            }[result.source]
            ev: dict[str, Any] = {"technique": result.source, "signal": result.signal}
            if result.policy:
                ev["tdm_policy"] = result.policy
            if result.source == "tdmrep.json":
                ev["capture"] = note["file"]["capture"]
            checks.drop(reason, rule, **ev)

    # ----------------------------------------------------------------- headers
    def _check_headers(self, pairs, policy: Policy, checks: _Checks) -> None:
        sig = policy.signals
        if sig.content_usage_header:
            for value in header_values(pairs, "content-usage"):
                pref = parse_content_usage(value)
                if not pref.readable:
                    rule = f"unreadable.content_usage={policy.unreadable.content_usage}"
                    unreadable = checks.notes.setdefault("content_usage_unreadable", [])
                    if len(unreadable) < 10:  # bounded: a response may repeat the header thousands of times
                        unreadable.append(shape(pref.raw))
                    if policy.unreadable.content_usage == "drop":
                        header = f"Content-Usage: {shape(pref.raw)}"
                        checks.drop("rights:content-usage-unreadable", rule, header=header)
                    continue
                labels = pref.disallowed(policy.aipref_training_labels)
                if labels:
                    checks.drop(
                        "rights:content-usage-header",
                        "signals.content_usage_header; aipref_training_labels",
                        header=f"Content-Usage: {shape(pref.raw)}",
                        labels=labels,
                    )
        if sig.content_signal_header:
            for value in header_values(pairs, "content-signal"):
                labels = parse_content_signal(value).disallowed(policy.content_signal_training_keys)
                if labels:
                    checks.drop(
                        "rights:content-signal-header",
                        "signals.content_signal_header",
                        header=f"Content-Signal: {shape(value)}",
                        labels=labels,
                    )
        if sig.x_robots_tag:
            ai = self._ai_agents(policy)
            for value in header_values(pairs, "x-robots-tag"):
                agent, directives = split_x_robots(value)
                hit = optout_directives(agent, directives, ai, policy)
                if hit:
                    scope = "for_all_agents" if agent is None else "for_ai_agents"
                    checks.drop(
                        "rights:x-robots-tag",
                        f"signals.x_robots_tag; robots_directives.{scope}",
                        header=f"X-Robots-Tag: {shape(value)}",
                        directives=hit,
                    )

    def _check_meta_robots(self, html: HtmlSignals, policy: Policy, checks: _Checks) -> None:
        ai = self._ai_agents(policy)
        for name in sorted(html.metas):
            if name != "robots" and name not in ai:
                continue
            for content in html.metas[name]:
                directives = [d.strip().lower() for d in content.split(",") if d.strip()]
                hit = optout_directives(None if name == "robots" else name, directives, ai, policy)
                if hit:
                    scope = "for_all_agents" if name == "robots" else "for_ai_agents"
                    checks.drop(
                        "rights:meta-robots",
                        f"signals.meta_robots; robots_directives.{scope}",
                        meta=f'<meta name="{name}" content="{shape(content)}">',
                        directives=hit,
                    )

    # ----------------------------------------------------------------- licence
    def _licence(self, doc, html, metadata, policy: Policy, checks: _Checks) -> LicenceMatch | None:
        found: list[tuple[str, LicenceMatch, str]] = []  # (where, match, signal)
        if isinstance(metadata.get("licence"), str) and metadata["licence"].strip():
            hit = self.matcher.from_value(metadata["licence"])
            if hit:
                found.append(("metadata", hit, f"licence column: {shape(metadata['licence'])}"))
            else:
                checks.notes["licence_unrecognised"] = shape(metadata["licence"])
        dataset = metadata.get("dataset")
        if isinstance(dataset, str) and dataset in self.dcat:
            hit = self.matcher.from_value(self.dcat[dataset])
            if hit:
                found.append(("dcat", hit, f"DCAT dct:license of {shape(dataset)}: {shape(self.dcat[dataset])}"))
        if html is not None:
            for link in html.licence_links:
                hit = self.matcher.from_url(link.url)
                if hit:
                    found.append((link.where, hit, shape(link.tag, 300) or ""))
        text_hit = self.matcher.from_text(doc.get("text") or "")
        if text_hit:
            found.append(("text", text_hit, f"phrase in text: {text_hit.matched}"))
        if not found and policy.licences.host_defaults:
            hostname = urlsplit(doc.get("url") or "").hostname
            default = self.matcher.host_default(hostname)
            if default:
                hit = self.matcher.from_value(default[0])
                if hit:
                    found.append(("host-default", hit, f"host {hostname}: {default[1][:200]}"))
        if not found:
            rule = f"missing.licence={policy.missing.licence}"
            checks.notes["licence"] = {"result": "none found", "rule": rule}
            if policy.missing.licence == "drop":
                checks.drop("rights:licence-missing", rule)
            return None
        best_rank = min(_LICENCE_RANK.index(w) for w, _, _ in found)
        top = [(w, m, s) for w, m, s in found if _LICENCE_RANK.index(w) == best_rank]
        distinct = sorted({m.id for _, m, _ in top})
        chosen = top[0]
        rule = f"licence from {chosen[0]}"
        if len(distinct) > 1 and policy.licences.ambiguous == "most-restrictive":
            chosen = max(top, key=lambda t: (TRAINING_ORDER[t[1].entry.training], t[1].id))
            rule = f"licences.ambiguous=most-restrictive among {distinct}"
        where, match, signal = chosen
        entry = match.entry
        note = {
            "id": match.id,
            "registry_entry": entry.id,
            "training": entry.training,
            "where": where,
            "signal": signal,  # bounded where it was built (shape, registry phrases)
            "rule": rule,
        }
        if len(distinct) > 1:
            note["ambiguous"] = distinct
        checks.notes["licence"] = note
        if entry.training == "no" and policy.licences.training_no == "drop":
            checks.drop("rights:licence-no-training", "licences.training_no=drop", licence=note)
        elif entry.training == "conditional" and policy.licences.training_conditional == "drop":
            checks.drop("rights:licence-conditional", "licences.training_conditional=drop", licence=note)
        return match


def _overrides(params: RightsStage.Params) -> dict[str, Any]:
    over = dict(params.overrides)
    if params.ai_user_agents is not None:
        over["ai_user_agents"] = params.ai_user_agents
    return over


def _json_object(value: str | None) -> dict[str, Any]:
    if not value:
        return {}
    try:
        obj = json.loads(value)
    except ValueError:
        return {}
    return obj if isinstance(obj, dict) else {}
