"""Writing a call's audio as it happens: a standard WAV file, one channel per speaker, 16 kHz.

soundfile (libsndfile) keeps the header right on close; each write goes straight to the file, so a call
that breaks off still leaves a playable recording of everything before the break. The calls block, so the
live call runs them in an executor.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf

from callcoach.audio.framing import Step

SAMPLE_RATE = 16000


class RecordingWriter:
    def __init__(self, path: Path, channels: int) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._file = sf.SoundFile(path, "w", samplerate=SAMPLE_RATE, channels=channels, subtype="PCM_16")

    def write(self, step: Step) -> None:
        """One step: the speakers' frames side by side, in the call's speaker order."""
        self._file.write(np.column_stack([frame.pcm for frame in step]))

    def close(self) -> None:
        self._file.close()
