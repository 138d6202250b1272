"""Coach-defined rules as the TOML a team lead writes, for the rule tests: one ``[[rule]]`` at a time.

Owns the rule fixtures the parser, detector, rules-file and page tests share. :func:`rule` writes a valid
"said" rule (telling the customer to calm down) with the fields a test cares about changed, so each test
says only what differs; :func:`disclosure` is the "missing" rule of a call-recording disclosure, and
:func:`patience` the praise for thanking a customer who waited.
"""

from __future__ import annotations

CALM_DOWN: dict[str, object] = {
    "name": "calm_down",
    "speaker": "agent",
    "say": ["calm down"],
    "when": "said",
    "polarity": "coach",
    "title": "Told the customer to calm down",
    "why": "It makes people angrier.",
    "suggestion": "Name the feeling instead.",
}


def rule(**fields: object) -> str:
    """One [[rule]] in TOML: :data:`CALM_DOWN` with ``fields`` changed or added (None drops a key)."""
    table = {**CALM_DOWN, **fields}
    lines = [f"{key} = {toml(value)}" for key, value in table.items() if value is not None]
    return "[[rule]]\n" + "\n".join(lines) + "\n"


def toml(value: object) -> str:
    """``value`` as a TOML value: a string, a boolean, a number or a list of them."""
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(toml(v) for v in value) + "]"
    return str(value)


def disclosure(**fields: object) -> str:
    """A "missing" rule: the agent must say the call may be recorded in its first 30 s."""
    return rule(
        **{
            "name": "recording_disclosure",
            "say": ["this call may be recorded", "recorded for quality*"],
            "when": "missing",
            "within_s": [0, 30],
            "title": "No recording disclosure in the first 30 s",
            "why": "Callers must hear that the call is recorded.",
            "suggestion": "Say it in the greeting.",
            **fields,
        }
    )


def patience(**fields: object) -> str:
    """A "said" praise rule: the agent thanks the customer for their patience."""
    return rule(
        **{
            "name": "patience",
            "say": ["thank you for your patience", "thanks for your patience"],
            "polarity": "praise",
            "title": "Thanked the customer for their patience",
            "why": "It keeps the customer on side.",
            "suggestion": "Keep thanking people after a wait.",
            **fields,
        }
    )
