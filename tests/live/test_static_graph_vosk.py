"""The composed graph (``live/static_graph.py``): the same words as the lookahead pair it is made from,
and clear errors when it cannot be made."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from callcoach.live.static_graph import (
    StaticGraphError,
    compile_static_graph,
    composable,
    has_static_graph,
    shipped_view,
)

# Each decode in a fresh process: until the features' dither is fixed, a Vosk process's later recognizers
# hear slightly different noise than its first, which would move word times by a few milliseconds.
_DECODE = """
import json, sys
import soundfile as sf, vosk
vosk.SetLogLevel(-3)
model = vosk.Model(sys.argv[1])
data, rate = sf.read(sys.argv[2], dtype="int16", always_2d=True)
rec = vosk.KaldiRecognizer(model, rate)
rec.SetWords(True)
pcm = data[:, int(sys.argv[3])].copy()
texts = [rec.Result() for at in range(0, len(pcm), 1600) if rec.AcceptWaveform(pcm[at : at + 1600].tobytes())]
texts.append(rec.FinalResult())
print(json.dumps([[w["word"], w["start"], w["end"]] for t in texts for w in json.loads(t).get("result", [])]))
"""


def _words(model: Path, wav: Path, channel: int) -> list[list[object]]:
    done = subprocess.run(
        [sys.executable, "-c", _DECODE, str(model), str(wav), str(channel)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    words: list[list[object]] = json.loads(done.stdout)
    return words


def _composed(model_dir: Path) -> Path:
    # make setup composes it (CI must have it); without it every call costs about 2.5 times the CPU.
    if not has_static_graph(model_dir) and not os.environ.get("CI"):
        pytest.skip(f"{model_dir} has no composed graph: run callcoach model compile")
    assert has_static_graph(model_dir)
    return model_dir


def test_the_composed_graph_hears_the_same_words_as_the_lookahead_pair(
    model_dir: Path, samples: Path, tmp_path: Path
) -> None:
    model = _composed(model_dir)
    wav, lookahead = samples / "bereavement_cold.wav", shipped_view(model, tmp_path)
    for channel in (0, 1):
        heard = _words(model, wav, channel)
        assert len(heard) > 10
        assert heard == _words(lookahead, wav, channel)


def test_a_model_without_the_pair_cannot_be_composed(tmp_path: Path) -> None:
    (tmp_path / "graph").mkdir()
    assert not composable(tmp_path)
    with pytest.raises(StaticGraphError, match="callcoach model fetch"):
        compile_static_graph(tmp_path, progress=lambda _m: None)


def test_missing_tools_are_named_with_the_packages_to_install(
    model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    view = shipped_view(model_dir, tmp_path)
    monkeypatch.setenv("PATH", str(tmp_path / "nothing-here"))
    with pytest.raises(StaticGraphError, match=r"missing fstsymbols.*apt-get install libfst-tools"):
        compile_static_graph(view, progress=lambda _m: None)
    assert not has_static_graph(view)


def test_a_model_that_has_its_graph_is_left_alone(tmp_path: Path) -> None:
    (tmp_path / "graph").mkdir()
    (tmp_path / "graph" / "HCLG.fst").write_bytes(b"made before")
    assert compile_static_graph(tmp_path, progress=lambda _m: None) is False
    assert (tmp_path / "graph" / "HCLG.fst").read_bytes() == b"made before"
