"""The CPU and memory of a server's whole process tree (itself, its threads and any worker processes it
starts), read from /proc, for the benches: a pool of decoding processes must count as the server's.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from dataclasses import dataclass, field
from pathlib import Path

MEMORY_EVERY_S = 0.25
THREADS_EVERY_S = 0.2


def _stat(pid: int) -> list[str] | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None  # gone meanwhile


def tree_pids(root: int) -> list[int]:
    """``root`` and every process descended from it (worker processes of a pool, say)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (fields := _stat(int(entry.name))) is not None:
            parents[int(entry.name)] = int(fields[1])
    found, frontier = [root], [root]
    while frontier:
        frontier = [pid for pid, ppid in parents.items() if ppid in frontier]
        found += frontier
    return found


def tree_cpu_s(root: int) -> float:
    """CPU seconds (user + system) of the tree so far, children it already reaped included."""
    ticks = 0
    for pid in tree_pids(root):
        if (fields := _stat(pid)) is not None:
            ticks += sum(int(f) for f in fields[11:15])  # utime stime cutime cstime, fields 14–17 of proc(5)
    return ticks / os.sysconf("SC_CLK_TCK")


def tree_pss_mib(root: int) -> float:
    """Proportional set size of the tree: a model shared by several processes is counted once."""
    kib = 0
    for pid in tree_pids(root):
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    kib += int(line.split()[1])
                    break
    return kib / 1024


@dataclass
class MemoryWatch:
    """The tree's PSS, sampled in the background while calls run."""

    pid: int
    idle_mib: float = 0.0
    peak_mib: float = 0.0
    _task: asyncio.Task[None] | None = field(default=None, repr=False)

    def start(self) -> None:
        self.idle_mib = self.peak_mib = tree_pss_mib(self.pid)
        self._task = asyncio.create_task(self._sample())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _sample(self) -> None:
        while True:
            await asyncio.sleep(MEMORY_EVERY_S)
            self.peak_mib = max(self.peak_mib, await asyncio.to_thread(tree_pss_mib, self.pid))


def thread_cpu_s(root: int) -> dict[int, float]:
    """CPU seconds so far of every thread of ``root``'s process tree, by OS thread id."""
    ticks: dict[int, float] = {}
    for pid in tree_pids(root):
        with contextlib.suppress(OSError):
            for task in Path(f"/proc/{pid}/task").iterdir():
                with contextlib.suppress(OSError, IndexError):
                    fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
                    ticks[int(task.name)] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return ticks


@dataclass
class ThreadWatch:
    """Each thread's CPU over the call, polled from /proc while it runs (a thread that ends between two
    polls keeps what the last poll saw)."""

    pid: int
    first: dict[int, float] = field(default_factory=dict)
    last: dict[int, float] = field(default_factory=dict)

    async def run(self) -> None:
        self.first = self.last = thread_cpu_s(self.pid)
        while True:
            await asyncio.sleep(THREADS_EVERY_S)
            self.last = self.last | await asyncio.to_thread(thread_cpu_s, self.pid)

    def cpu_s(self) -> dict[int, float]:
        return {tid: cpu - self.first.get(tid, 0.0) for tid, cpu in self.last.items()}
