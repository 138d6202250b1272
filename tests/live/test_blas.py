"""Choosing Vosk's OpenBLAS kernels from the CPU's flags (live/blas.py), and that Vosk's OpenBLAS takes it."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from pathlib import Path

import pytest

from callcoach.live.blas import VARIABLE, choose_core, core_for, cpu_flags

CPUINFO = """processor\t: 0
vendor_id\t: GenuineIntel
model name\t: Intel(R) Xeon(R) Processor
flags\t\t: fpu sse4_2 avx avx2 fma avx512f avx512dq avx512bw avx512vl
bogomips\t: 4000.00

processor\t: 1
flags\t\t: fpu sse4_2
"""


@pytest.mark.parametrize(
    ("flags", "core"),
    [
        ({"sse4_2", "avx", "avx2", "fma", "avx512f", "avx512dq", "avx512bw", "avx512vl"}, "SkylakeX"),
        ({"sse4_2", "avx", "avx2", "fma", "avx512f"}, "Haswell"),  # not every AVX-512 part SkylakeX needs
        ({"sse4_2", "avx", "avx2", "fma"}, "Haswell"),
        ({"sse4_2", "avx"}, "Nehalem"),
        ({"fp", "asimd"}, None),  # an ARM CPU: OpenBLAS detects it itself
        (set(), None),
    ],
)
def test_core_for_the_widest_kernels_the_flags_allow(flags: set[str], core: str | None) -> None:
    assert core_for(flags) == core


def test_cpu_flags_are_the_first_processors() -> None:
    assert cpu_flags(CPUINFO) == {
        "fpu",
        "sse4_2",
        "avx",
        "avx2",
        "fma",
        "avx512f",
        "avx512dq",
        "avx512bw",
        "avx512vl",
    }
    assert cpu_flags("processor : 0\nFeatures : fp asimd\n") == set()


def test_choose_core_sets_the_variable_from_the_cpu(tmp_path: Path) -> None:
    info = tmp_path / "cpuinfo"
    info.write_text(CPUINFO)
    environ: dict[str, str] = {}
    assert choose_core(environ, info) == "SkylakeX"
    assert environ == {VARIABLE: "SkylakeX"}


def test_a_core_type_already_set_wins(tmp_path: Path) -> None:
    info = tmp_path / "cpuinfo"
    info.write_text(CPUINFO)
    environ = {VARIABLE: "Haswell"}
    assert choose_core(environ, info) == "Haswell" and environ == {VARIABLE: "Haswell"}


def test_unreadable_or_unknown_cpu_sets_nothing(tmp_path: Path) -> None:
    environ: dict[str, str] = {}
    assert choose_core(environ, tmp_path / "missing") is None and environ == {}
    (tmp_path / "arm").write_text("processor : 0\nFeatures : fp asimd\n")
    assert choose_core(environ, tmp_path / "arm") is None and environ == {}


@pytest.mark.skipif(platform.machine() != "x86_64", reason="Vosk's x86 OpenBLAS kernels")
def test_vosk_openblas_runs_the_chosen_kernels() -> None:
    """Loading callcoach's model module makes Vosk's own OpenBLAS use the kernels the CPU's flags allow (it
    prints its choice with OPENBLAS_VERBOSE=2), never the Prescott fallback on a CPU it does not know."""
    expected = core_for(cpu_flags(Path("/proc/cpuinfo").read_text()))
    if expected is None:
        pytest.skip("this CPU's flags name no kernel set: OpenBLAS detects it")
    env = {k: v for k, v in os.environ.items() if k != VARIABLE} | {"OPENBLAS_VERBOSE": "2"}
    code = "import callcoach.live.model; import vosk; print('loaded')"
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    said = done.stdout + done.stderr  # each OpenBLAS loaded (Vosk's; numpy's if it came first) says its core
    cores = [line.split(":", 1)[1].strip() for line in said.splitlines() if line.startswith("Core:")]
    assert cores and set(cores) == {expected}, said
