"""Which OpenBLAS kernels Vosk's acoustic network runs on: chosen from the CPU's features, before Vosk loads.

The Vosk wheel links its own OpenBLAS, built with every x86 kernel set (``DYNAMIC_ARCH``), which picks one
at load from the CPU's family and model number. A CPU newer than that table (this machine's Xeon reports
family 6, model 207), or a virtual machine that hides its model, is not in it, and OpenBLAS falls back to
its oldest kernels, Prescott's (SSE3): then the network's matrix products (``sgemm``, about a third of
Vosk's time on speech) run at a fraction of the speed the CPU has. numpy's own, newer OpenBLAS detects the
same CPU correctly; Vosk's does not (``OPENBLAS_VERBOSE=2`` prints what each chose).

OpenBLAS takes ``OPENBLAS_CORETYPE`` from the environment at load instead of detecting. This module sets it
from the features the CPU reports (``/proc/cpuinfo`` flags, so a virtual machine's real instruction sets
count, not its model number) unless it is set already: whatever the user or the service's environment says
wins. It must run before ``libvosk.so`` is loaded (``live/model.py`` calls it before ``import vosk``);
worker processes inherit the environment. Off x86, or when the flags cannot be read, nothing is set and
OpenBLAS detects as it always did. numpy's OpenBLAS reads the same variable if it loads later; the kernel
set chosen is the one it detects for such a CPU anyway.
"""

from __future__ import annotations

import os
from collections.abc import MutableMapping
from pathlib import Path

VARIABLE = "OPENBLAS_CORETYPE"
CPUINFO = Path("/proc/cpuinfo")
# The widest kernel set the CPU's instructions allow, newest first (names as OpenBLAS's DYNAMIC_ARCH takes
# them; Vosk's build has these three among its x86-64 ones).
_CORES: tuple[tuple[frozenset[str], str], ...] = (
    (frozenset({"avx512f", "avx512bw", "avx512vl", "avx512dq"}), "SkylakeX"),
    (frozenset({"avx2", "fma"}), "Haswell"),
    (frozenset({"sse4_2"}), "Nehalem"),
)


def core_for(flags: set[str]) -> str | None:
    """The OpenBLAS core type for a CPU with these feature flags (None: leave it to OpenBLAS)."""
    return next((core for needed, core in _CORES if needed <= flags), None)


def cpu_flags(cpuinfo: str) -> set[str]:
    """The feature flags of the first processor in ``/proc/cpuinfo`` text (x86: a ``flags`` line)."""
    for line in cpuinfo.splitlines():
        name, _, value = line.partition(":")
        if name.strip() == "flags":
            return set(value.split())
    return set()


def choose_core(environ: MutableMapping[str, str] = os.environ, cpuinfo: Path = CPUINFO) -> str | None:
    """Set ``OPENBLAS_CORETYPE`` in ``environ`` from the CPU's flags unless it is set; the core type in
    effect (None: OpenBLAS detects)."""
    if environ.get(VARIABLE):
        return environ[VARIABLE]
    try:
        core = core_for(cpu_flags(cpuinfo.read_text(encoding="ascii", errors="replace")))
    except OSError:
        return None
    if core is not None:
        environ[VARIABLE] = core
    return core
