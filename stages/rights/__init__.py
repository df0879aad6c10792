"""Rights stage: TDM opt-outs (robots.txt, TDMRep, AI preferences, robots directives) and licence tagging."""

from stages.rights.evidence import host_evidence_table
from stages.rights.stage import RightsStage

__all__ = ["RightsStage", "host_evidence_table"]
