"""AudioError: stable codes, the attributes callers read, and pickling."""

from __future__ import annotations

import pickle

import pytest

from callcoach.audio.errors import CODES, AudioError


def test_attributes_and_str() -> None:
    err = AudioError("truncated_audio", "x.wav is cut short: export it again", at_s=1.5)
    assert (err.code, err.message, err.at_s) == (
        "truncated_audio",
        "x.wav is cut short: export it again",
        1.5,
    )
    assert str(err) == err.message
    assert "truncated_audio" in repr(err)


def test_at_s_defaults_to_none() -> None:
    assert AudioError("not_audio", "m").at_s is None


def test_codes_are_the_documented_set() -> None:
    assert {
        "file_not_found",
        "not_audio",
        "empty_audio",
        "truncated_audio",
        "too_many_channels",
        "bad_channel",
        "call_too_long",
    } == CODES


def test_unknown_code_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown audio error code"):
        AudioError("file_missing", "typo in the code")


def test_pickles_with_all_fields() -> None:
    err = pickle.loads(pickle.dumps(AudioError("bad_channel", "pick another", at_s=None)))
    assert (err.code, err.message, err.at_s) == ("bad_channel", "pick another", None)
