"""The decoder search's derived model directory: options replaced, everything else linked, re-made when
what it should hold changes, the official model never touched, and errors a user can act on."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from callcoach.live.decoder_search import (
    EFFORTS,
    FEATURES,
    STAMP,
    SearchError,
    effort_options,
    replaced_conf,
    searched_model_dir,
)
from callcoach.live.model import ModelError, load_model
from callcoach.live.settings import SettingsError, from_sources

CONF = (
    "--min-active=200\n--max-active=3000\n--beam=10.0\n--lattice-beam=2.0\n--acoustic-scale=1.0\n"
    "--endpoint.rule2.min-trailing-silence=0.5\n"
)
FILES = ("am/final.mdl", "graph/HCLr.fst", "graph/Gr.fst", "ivector/final.ie", "conf/mfcc.conf", "README")


def make_model(root: Path) -> Path:
    """A model directory's layout with placeholder files (not loadable by Vosk; the layout is the point)."""
    model = root / "vosk-model-small-en-us"
    for rel in FILES:
        (model / rel).parent.mkdir(parents=True, exist_ok=True)
        (model / rel).write_text(f"placeholder {rel}\n")
    (model / "conf" / "model.conf").write_text(CONF)
    return model


def snapshot(model: Path) -> dict[str, str]:
    """Every file of the official model and a hash of its bytes, to show nothing in it changed."""
    return {
        str(p.relative_to(model)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(model.rglob("*"))
        if p.is_file()
    }


def test_replaced_conf_replaces_in_place_keeps_the_rest_and_appends_what_is_new() -> None:
    text = replaced_conf(CONF, {"beam": "8.0", "max-active": "1000", "prune-interval": "50"})
    assert text.splitlines() == [
        "--min-active=200",
        "--max-active=1000",
        "--beam=8.0",
        "--lattice-beam=2.0",
        "--acoustic-scale=1.0",
        "--endpoint.rule2.min-trailing-silence=0.5",
        "--prune-interval=50",
    ]


def test_replaced_conf_leaves_one_line_for_an_option_set_twice() -> None:
    assert replaced_conf("--beam=10\n--beam=11\n", {"beam": "8"}) == "--beam=8\n"


def test_no_options_is_the_official_directory_itself(tmp_path: Path) -> None:
    model = make_model(tmp_path)
    assert searched_model_dir(model, {}) == model
    assert sorted(p.name for p in tmp_path.iterdir()) == [model.name]


def test_derived_directory_links_the_model_and_writes_its_own_conf(tmp_path: Path) -> None:
    model = make_model(tmp_path)
    before = snapshot(model)
    derived = searched_model_dir(model, {"beam": "8.0"}, name="fast")
    assert derived == tmp_path / "vosk-model-small-en-us.search-fast"
    for name in ("am", "graph", "ivector", "README"):
        assert (derived / name).is_symlink()
        assert (derived / name).resolve() == (model / name).resolve()
    assert (derived / "conf" / "mfcc.conf").is_symlink()
    conf = derived / "conf" / "model.conf"
    assert not conf.is_symlink()
    assert "--beam=8.0" in conf.read_text().splitlines()
    assert (derived / "graph" / "HCLr.fst").read_text() == "placeholder graph/HCLr.fst\n"
    assert snapshot(model) == before
    assert (model / "conf" / "model.conf").read_text() == CONF


def test_feature_options_go_into_the_feature_conf_beside_the_search_options(tmp_path: Path) -> None:
    model = make_model(tmp_path)
    before = snapshot(model)
    derived = searched_model_dir(model, {"beam": "8.0"}, name="fast-dither0", features={"dither": "0"})
    assert derived == tmp_path / "vosk-model-small-en-us.search-fast-dither0"
    mfcc = derived / "conf" / "mfcc.conf"
    assert not mfcc.is_symlink()
    assert mfcc.read_text().splitlines() == ["placeholder conf/mfcc.conf", "--dither=0"]
    assert "--beam=8.0" in (derived / "conf" / "model.conf").read_text().splitlines()
    assert snapshot(model) == before


def test_feature_options_alone_still_make_a_derived_directory(tmp_path: Path) -> None:
    model = make_model(tmp_path)
    derived = searched_model_dir(model, {}, features={"dither": "0"})
    assert derived == tmp_path / "vosk-model-small-en-us.search-dither0"
    assert (derived / "conf" / "model.conf").read_text() == CONF
    assert "--dither=0" in (derived / "conf" / "mfcc.conf").read_text().splitlines()


def test_a_filterbank_model_gets_its_feature_options_in_fbank_conf(tmp_path: Path) -> None:
    model = make_model(tmp_path)
    (model / "conf" / "mfcc.conf").rename(model / "conf" / "fbank.conf")
    derived = searched_model_dir(model, {}, features={"dither": "0"})
    assert "--dither=0" in (derived / "conf" / "fbank.conf").read_text().splitlines()
    assert not (derived / "conf" / "mfcc.conf").exists()


def test_every_model_is_loaded_with_reproducible_features(tmp_path: Path) -> None:
    # The placeholder model is no model Vosk can load, but the directory it was loaded from is made first.
    model = make_model(tmp_path)
    assert FEATURES == {"dither": "0"}
    for effort in EFFORTS:
        with pytest.raises(ModelError, match="Vosk could not load the model"):
            load_model(model, effort)
        derived = tmp_path / f"vosk-model-small-en-us.search-{effort}-dither0"
        assert "--dither=0" in (derived / "conf" / "mfcc.conf").read_text().splitlines()
        lines = (derived / "conf" / "model.conf").read_text().splitlines()
        assert all(f"--{k}={v}" in lines for k, v in EFFORTS[effort].items())


def test_derived_directory_is_made_once(tmp_path: Path) -> None:
    model = make_model(tmp_path)
    derived = searched_model_dir(model, {"beam": "8.0"}, name="fast")
    made_ns = (derived / STAMP).stat().st_mtime_ns
    inode = derived.stat().st_ino
    assert searched_model_dir(model, {"beam": "8.0"}, name="fast") == derived
    assert (derived / STAMP).stat().st_mtime_ns == made_ns
    assert derived.stat().st_ino == inode
    # No staging or old copies are left beside the model.
    assert sorted(p.name for p in tmp_path.iterdir()) == [model.name, derived.name]


def test_derived_directory_is_remade_when_the_options_change(tmp_path: Path) -> None:
    model = make_model(tmp_path)
    before = snapshot(model)
    searched_model_dir(model, {"beam": "8.0"}, name="fast")
    derived = searched_model_dir(model, {"beam": "9.0", "max-active": "1000"}, name="fast")
    lines = (derived / "conf" / "model.conf").read_text().splitlines()
    assert "--beam=9.0" in lines and "--max-active=1000" in lines and "--beam=8.0" not in lines
    assert sorted(p.name for p in tmp_path.iterdir()) == [model.name, derived.name]
    assert snapshot(model) == before


def test_derived_directory_is_remade_when_the_official_conf_changes(tmp_path: Path) -> None:
    model = make_model(tmp_path)
    derived = searched_model_dir(model, {"beam": "8.0"}, name="fast")
    (model / "conf" / "model.conf").write_text(CONF.replace("rule2.min-trailing-silence=0.5", "rule2.x=0.4"))
    searched_model_dir(model, {"beam": "8.0"}, name="fast")
    assert "--endpoint.rule2.x=0.4" in (derived / "conf" / "model.conf").read_text().splitlines()


def test_derived_directory_follows_a_file_added_to_the_model(tmp_path: Path) -> None:
    model = make_model(tmp_path)
    derived = searched_model_dir(model, {"beam": "8.0"}, name="fast")
    (model / "rescore").mkdir()
    searched_model_dir(model, {"beam": "8.0"}, name="fast")
    assert (derived / "rescore").is_symlink()


def test_a_directory_callcoach_did_not_make_is_never_replaced(tmp_path: Path) -> None:
    model = make_model(tmp_path)
    theirs = tmp_path / "vosk-model-small-en-us.search-fast"
    theirs.mkdir()
    (theirs / "notes.txt").write_text("mine")
    with pytest.raises(SearchError, match="not made by callcoach: move it away or delete it"):
        searched_model_dir(model, {"beam": "8.0"}, name="fast")
    assert (theirs / "notes.txt").read_text() == "mine"


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into a read-only directory")
def test_a_read_only_cache_says_where_and_how_to_fix(tmp_path: Path) -> None:
    model = make_model(tmp_path / "cache")
    (tmp_path / "cache").chmod(0o555)
    try:
        with pytest.raises(ModelError) as caught:
            load_model(model, "fast")
    finally:
        (tmp_path / "cache").chmod(0o755)
    assert caught.value.code == "model_search_failed"
    assert str(tmp_path / "cache") in caught.value.message
    assert "writable" in caught.value.message and "--decoder-effort full" in caught.value.message


def test_a_failure_to_make_it_is_a_model_error_naming_the_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Runs as root too: the model's name leaves room for the derived directory's name (under 255 bytes)
    # but not for its staging directory's, so making it fails with a real OSError, beside the model and
    # then in callcoach's cache.
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    model = make_model(tmp_path)
    long_name = model.rename(tmp_path / ("m" * 240))
    before = snapshot(long_name)
    with pytest.raises(ModelError) as caught:
        load_model(long_name, "fast")
    assert caught.value.code == "model_search_failed"
    assert str(tmp_path / "xdg" / "callcoach" / "models") in caught.value.message
    assert "writable" in caught.value.message and "--decoder-effort full" in caught.value.message
    assert snapshot(long_name) == before


def test_a_model_whose_folder_cannot_be_used_gets_its_searched_copy_in_the_cache(tmp_path: Path) -> None:
    # Beside the model the name is taken by a folder callcoach did not make (as a read-only folder would
    # refuse it): the searched copy goes to the cache instead, named after the model's path.
    model = make_model(tmp_path / "shared")
    (tmp_path / "shared" / "vosk-model-small-en-us.search-fast").mkdir()
    before = snapshot(model)
    derived = searched_model_dir(model, {"max-active": "1000"}, name="fast", fallback=tmp_path / "cache")
    assert derived.parent == tmp_path / "cache" and derived.name.endswith(".search-fast")
    assert "--max-active=1000" in (derived / "conf" / "model.conf").read_text()
    assert (derived / "am").is_symlink() and snapshot(model) == before
    other = make_model(tmp_path / "elsewhere")  # another model of the same name: its own copy
    (tmp_path / "elsewhere" / "vosk-model-small-en-us.search-fast").mkdir()
    assert (
        searched_model_dir(other, {"max-active": "1000"}, name="fast", fallback=tmp_path / "cache") != derived
    )


def test_the_named_efforts_and_an_unknown_one() -> None:
    assert effort_options("full") == {}
    assert effort_options("fast") == EFFORTS["fast"] != {}
    with pytest.raises(SearchError, match="use one of full, fast"):
        effort_options("fastest")


def test_the_setting_from_flag_and_environment() -> None:
    assert from_sources(None, env={}).decoder_effort == "full"
    assert from_sources(None, env={"CALLCOACH_DECODER_EFFORT": "fast"}).decoder_effort == "fast"
    with pytest.raises(SettingsError, match="CALLCOACH_DECODER_EFFORT"):
        from_sources(None, env={"CALLCOACH_DECODER_EFFORT": "turbo"})
