"""The detectors' tunables, as one frozen value that the settings object carries."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DetectorConfig:
    # Nobody speaking for this long is dead air worth a coach's look.
    silence_threshold_s: float = 5.0
    # How long after the customer's bad news the agent's reply is still "the next turn".
    reply_window_s: float = 30.0
    # The agent talking this long with no customer turn (backchannels aside) is a monologue.
    monologue_s: float = 60.0
