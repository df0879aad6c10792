"""Rights stage: TDM opt-outs (robots.txt, TDMRep, AI preferences, robots directives) and licence tagging."""

from sovereign.stages.rights.evidence import host_evidence_table
from sovereign.stages.rights.stage import RightsStage

__all__ = ["RightsStage", "host_evidence_table"]
