"""Hypothesis profiles for the fuzz tests: bounded and repeatable in `make test`, long in `make fuzz`.

``HYPOTHESIS_PROFILE=fuzz`` (what `make fuzz` sets) runs each property with many more random examples;
without it every property runs a few dozen derandomized ones, so `make test` stays fast and never fails on
an input it did not try the time before. Failing examples are kept under ``build/`` (not the worktree).
"""

from __future__ import annotations

import os
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis.database import DirectoryBasedExampleDatabase

DATABASE = DirectoryBasedExampleDatabase(Path(__file__).resolve().parents[2] / "build" / "hypothesis")
# No deadline: the machine is shared, and a slow example is not a wrong one.
settings.register_profile(
    "bounded",
    max_examples=40,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "fuzz",
    max_examples=5000,
    deadline=None,
    database=DATABASE,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "bounded"))
