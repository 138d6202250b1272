"""Run ``callcoach analyze --json`` on one recording, as a user runs it, and read its events back.

Owns the command line the evaluation uses (the installed ``callcoach`` next to this Python, the rules file,
the channel order) and the probe of whether this build reads coach-defined rules at all.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.eval.script import RULES_FILE

CALLCOACH = Path(sys.executable).parent / "callcoach"


@dataclass(frozen=True)
class Analysis:
    events: list[dict[str, Any]]
    returncode: int
    stderr: str


def analyze(path: Path, extra: tuple[str, ...] = (), rules: Path | None = RULES_FILE) -> Analysis:
    """The call's events, one JSON object per line of ``analyze --json``; a failed run keeps its stderr."""
    command = [str(CALLCOACH), "analyze", str(path), "--json", *extra]
    if rules is not None:
        command += ["--rules", str(rules)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    events = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    return Analysis(events, done.returncode, done.stderr.strip())
