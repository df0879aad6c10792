"""Robots directives in the X-Robots-Tag header and robots meta tags (``noai``, agent-specific directives)."""

from __future__ import annotations

# Directives whose value contains a colon; "unavailable_after: <date>" must not be read as an agent prefix.
_COLON_DIRECTIVES = {"unavailable_after", "max-snippet", "max-image-preview", "max-video-preview"}


def split_x_robots(value: str) -> tuple[str | None, list[str]]:
    """``[agent:] d1, d2`` -> (agent or None, lower-case directives)."""
    agent = None
    head, sep, rest = value.partition(":")
    if sep and head.strip() and " " not in head.strip() and head.strip().lower() not in _COLON_DIRECTIVES:
        if "," not in head:
            agent, value = head.strip(), rest
    directives = [d.strip().lower() for d in value.split(",") if d.strip()]
    return agent, directives


def optout_directives(agent: str | None, directives: list[str], ai_agents: set[str], policy) -> list[str]:
    """The directives that count as an opt-out under the policy's ``robots_directives``."""
    if agent is None or agent == "*" or agent.lower() == "robots":
        wanted = set(policy.robots_directives.for_all_agents)
    elif agent.lower() in ai_agents:
        wanted = set(policy.robots_directives.for_ai_agents)
    else:
        return []
    return [d for d in directives if d in wanted]
