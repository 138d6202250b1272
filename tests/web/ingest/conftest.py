"""Shared fixtures for the ingest parser tests: speech-like test tones."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt
import pytest

Int16 = npt.NDArray[np.int16]


@pytest.fixture
def tone() -> Callable[..., Int16]:
    """``tone(n, rate, hz=440, channels=1)``: int16 ``(n, channels)``, a pitch and level per channel."""

    def make(n: int, rate: int, hz: float = 440.0, channels: int = 1) -> Int16:
        t = np.arange(n) / rate
        columns = [(12000 / (c + 1)) * np.sin(2 * np.pi * hz * (c + 1) * t) for c in range(channels)]
        return np.stack(columns, axis=1).round().astype(np.int16)

    return make
