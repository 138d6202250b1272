"""An uploaded recording in the catalog, analysed by real Vosk: listed under its team with the name the
user gave it, and while it is analysed its ``analysed_s`` tells how far, from the start, only forwards,
never past its length, at most a few times a second; once ready it carries none."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from callcoach.live.catalog import PROGRESS_EVERY_S, CallCatalog
from callcoach.live.imports import Accepted, import_file
from callcoach.live.model import load_model
from callcoach.live.settings import Settings

pytestmark = pytest.mark.vosk


async def test_an_upload_tells_its_progress_while_it_is_analysed(
    samples: Path, model_dir: Path, tmp_path: Path
) -> None:
    settings = Settings(model_dir=model_dir, data_dir=tmp_path / "data", recordings_dir=tmp_path / "none")
    taken = import_file(samples / "plain.wav", "north", "", settings)
    assert isinstance(taken, Accepted)
    with ThreadPoolExecutor(2) as pool:
        catalog = CallCatalog(settings, load_model(model_dir, settings.decoder_effort), pool)
        [call_id] = catalog.scan()
        info = catalog.calls()[0]
        assert (info.title, info.team, info.status) == ("plain.wav", "north", "analysing")
        assert info.analysed_s is None  # queued: not begun
        seen: list[float] = []

        def changed() -> None:
            info = catalog.calls()[0]
            if info.status == "analysing" and info.analysed_s is not None:
                seen.append(info.analysed_s)

        catalog.listen(changed)
        began = time.monotonic()
        await catalog.ensure_analysed(call_id)
        took_s = time.monotonic() - began
    done = catalog.calls()[0]
    assert done.status == "ready" and done.analysed_s is None
    assert done.duration_s is not None and seen
    assert seen[0] == 0.0 and seen == sorted(seen) and seen[-1] < done.duration_s
    assert len(seen) <= took_s / PROGRESS_EVERY_S + 1  # at most a few a second, whatever the speed
