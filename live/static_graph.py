"""The model's decoding graph composed once, ahead of time, instead of on every call.

Small Vosk models ship their graph in two halves, ``graph/HCLr.fst`` (the acoustic units and the lexicon)
and ``graph/Gr.fst`` (the language model), which Vosk composes lazily while it decodes. Profiling a live
call showed most of Vosk's time in that composition (``ComposeFst``, ``LookAheadMatcher``), not in the
acoustic network. This module composes the two once with the OpenFst tools, the way Kaldi's own
``utils/mkgraph_lookahead.sh --compose-graph`` does, into ``graph/HCLG.fst`` beside them; Vosk loads a
model's ``HCLG.fst`` in preference to the pair. The search space is the same graph, so the words are the
same (``tests/live/test_static_graph.py`` decodes with both and compares); decoding takes about 0.4 of
the CPU. The price is about 230 MB on disk, about 140 MB more memory per process, and a minute or two of
CPU once.

The steps, all OpenFst command-line tools (Debian: ``libfst-tools`` with ``libfst22-plugins-base`` for the
``olabel_lookahead`` and ``ngram`` FST types the halves are stored as):

1. ``fstsymbols``: the language model's word table out to ``words.txt`` and stripped from the FST (the
   tools cannot write the composed graph back with the table the ngram FST carries);
2. ``fstcompose HCLr Gr``, which uses HCLr's lookahead to keep the composition small;
3. ``fstrelabel``: the disambiguation symbols (``disambig_tid.int``) become epsilon, which is what
   Kaldi's ``fstrmsymbols`` does and what Vosk does at run time;
4. ``fstconvert --fst_type=const``: the compact read-only form Vosk loads.

Everything is made in a staging folder inside ``graph/`` and moved in last, ``HCLG.fst`` after
``words.txt``, so a model is never left with half a graph: an interrupted run leaves the pair as it was.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

TOOLS = ("fstsymbols", "fstcompose", "fstrelabel", "fstconvert")
PLUGINS = ("olabel_lookahead-fst.so", "ngram-fst.so")
# Debian and Ubuntu put OpenFst's FST-type plugins in a versioned folder the loader does not search.
PLUGIN_GLOBS = ("/usr/lib/*/fst/*", "/usr/lib/fst", "/usr/local/lib/fst", "/usr/lib64/fst")
INSTALL_HINT = (
    "install the OpenFst tools and their plugins (Debian/Ubuntu: apt-get install libfst-tools "
    "libfst22-plugins-base), then run: callcoach model compile"
)


class StaticGraphError(Exception):
    """The graph cannot be composed; the message names the cause and the fix."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def has_static_graph(model_dir: Path) -> bool:
    return (model_dir / "graph" / "HCLG.fst").is_file()


def composable(model_dir: Path) -> bool:
    """Whether the model ships the lookahead pair this module composes."""
    graph = model_dir / "graph"
    return all((graph / name).is_file() for name in ("HCLr.fst", "Gr.fst", "disambig_tid.int"))


def missing_tools() -> list[str]:
    """The OpenFst programs and plugins that are not installed (empty when composing can run)."""
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if plugin_dir() is None:
        missing += list(PLUGINS)
    return missing


def plugin_dir() -> Path | None:
    """The folder holding OpenFst's lookahead and ngram FST-type plugins, if installed."""
    searched = os.environ.get("LD_LIBRARY_PATH", "").split(":") + [
        found for pattern in PLUGIN_GLOBS for found in sorted(glob.glob(pattern))
    ]
    for folder in filter(None, searched):
        if all((Path(folder) / name).is_file() for name in PLUGINS):
            return Path(folder)
    return None


def shipped_view(model_dir: Path, into: Path) -> Path:
    """``model_dir`` as shipped, without its composed graph: a folder in ``into`` linking every file but
    ``graph/HCLG.fst`` and ``graph/words.txt``, for measuring what the composed graph saves."""
    view = into / f"{model_dir.name}-shipped"
    (view / "graph").mkdir(parents=True)
    for entry in model_dir.iterdir():
        if entry.name != "graph":
            (view / entry.name).symlink_to(entry.resolve())
    for entry in (model_dir / "graph").iterdir():
        if entry.name not in ("HCLG.fst", "words.txt"):
            (view / "graph" / entry.name).symlink_to(entry.resolve())
    return view


def compile_static_graph(model_dir: Path, progress: Callable[[str], None]) -> bool:
    """Compose ``model_dir``'s graph into ``graph/HCLG.fst``; False when it already has one (or ships a
    static graph itself). Raises :class:`StaticGraphError`."""
    graph = model_dir / "graph"
    if has_static_graph(model_dir):
        return False
    if not composable(model_dir):
        raise StaticGraphError(
            f"The model at {model_dir} has neither graph/HCLG.fst nor the pair graph/HCLr.fst + graph/Gr.fst "
            "(+ disambig_tid.int) to compose it from: delete it and run callcoach model fetch",
        )
    missing = missing_tools()
    if missing:
        raise StaticGraphError(
            f"Cannot compose the model's graph (missing {', '.join(missing)}): {INSTALL_HINT}"
        )
    if not os.access(graph, os.W_OK):
        raise StaticGraphError(
            f"Cannot write the composed graph into {graph} (not writable): run callcoach model compile as "
            "the model's owner, or copy the model somewhere writable and point --model at it",
        )
    progress(f"composing the decoding graph of {model_dir.name} once (a minute or two of CPU) ...")
    staging = Path(tempfile.mkdtemp(dir=graph, prefix=".HCLG.make-"))
    try:
        _compose(graph, staging)
        os.replace(staging / "words.txt", graph / "words.txt")
        os.replace(staging / "HCLG.fst", graph / "HCLG.fst")
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    size_mb = (graph / "HCLG.fst").stat().st_size / 1e6
    progress(f"wrote {graph / 'HCLG.fst'} ({size_mb:.0f} MB)")
    return True


def _compose(graph: Path, work: Path) -> None:
    pairs = work / "disambig.pairs"
    disambig = (graph / "disambig_tid.int").read_text(encoding="ascii").split()
    pairs.write_text("".join(f"{tid} 0\n" for tid in disambig), encoding="ascii")
    # Intermediate files rather than pipes: each step's failure is then reported by its own name.
    _run("fstsymbols", f"--save_osymbols={work / 'words.txt'}", "--clear_isymbols", "--clear_osymbols",
         graph / "Gr.fst", work / "G.fst")  # fmt: skip
    _run("fstcompose", graph / "HCLr.fst", work / "G.fst", work / "HCLG.vector")
    (work / "G.fst").unlink()
    _run("fstrelabel", f"--relabel_ipairs={pairs}", work / "HCLG.vector", work / "HCLG.relabeled")
    (work / "HCLG.vector").unlink()
    _run("fstconvert", "--fst_type=const", work / "HCLG.relabeled", work / "HCLG.fst")


def _run(tool: str, *args: str | Path) -> None:
    folder = plugin_dir()
    env = dict(os.environ)
    if folder is not None:
        env["LD_LIBRARY_PATH"] = ":".join(filter(None, [str(folder), env.get("LD_LIBRARY_PATH", "")]))
    done = subprocess.run([tool, *map(str, args)], env=env, capture_output=True, text=True, check=False)
    # The tools exit 0 after some read errors, having written nothing: check the output as well.
    out = Path(args[-1])
    if done.returncode != 0 or not out.is_file() or out.stat().st_size == 0:
        detail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise StaticGraphError(
            f"Composing the model's graph failed at {tool} ({detail}): check free disk space and memory, "
            "then run callcoach model compile again",
        )
