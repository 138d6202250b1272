"""Run ``callcoach analyze --json`` on one recording, as a user runs it, and read its events back.

Owns the command line the evaluation uses (the installed ``callcoach`` next to this Python, the rules file,
the channel order) and the probe of whether this build reads coach-defined rules at all.
"""

from __future__ import annotations

import functools
import json
import subprocess
import sys
import tempfile
import wave
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
    if rules is not None and accepts_rules():
        command += ["--rules", str(rules)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    events = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    return Analysis(events, done.returncode, done.stderr.strip())


@functools.cache
def accepts_rules() -> bool:
    """Whether ``analyze`` has a ``--rules`` option (a build from before the rules has none)."""
    done = subprocess.run([str(CALLCOACH), "analyze", "--help"], capture_output=True, text=True, check=False)
    return "--rules" in done.stdout


@functools.cache
def reads_rules() -> bool:
    """Whether ``analyze`` really reads the rules file: a build that does refuses one that is not there.

    A build can take ``--rules`` (the setting exists) before any detector uses it; then a missing file
    passes unnoticed and no rule moment can be found. Probed on a tenth of a second of silence.
    """
    if not accepts_rules():
        return False
    with tempfile.TemporaryDirectory() as tmp:
        silent = Path(tmp) / "silent.wav"
        with wave.open(str(silent), "wb") as w:
            w.setnchannels(2)
            w.setsampwidth(2)
            w.setframerate(16000)
            w.writeframes(bytes(2 * 2 * 1600))
        missing = Path(tmp) / "no-such-rules.toml"
        command = [str(CALLCOACH), "analyze", str(silent), "--json", "--rules", str(missing)]
        return subprocess.run(command, capture_output=True, check=False).returncode != 0
