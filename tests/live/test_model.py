"""The model directory: checks, loading errors, and both fetch routes, without any network."""

from __future__ import annotations

import hashlib
import json
import os
import sys
import zipfile
from pathlib import Path

import pytest

from callcoach.live.model import (
    MAVEN_ARTIFACT,
    ModelError,
    check_model_dir,
    default_model_dir,
    fetch_model,
    load_model,
)

MODEL_FILES = ("am/final.mdl", "conf/model.conf", "graph/HCLr.fst", "graph/Gr.fst", "ivector/final.ie")
# A stand-in for mvn that succeeds without doing anything: the fake repository already holds the .aar.
NOOP_MVN = (sys.executable, "-c", "pass")


def make_model(root: Path, files: tuple[str, ...] = MODEL_FILES) -> Path:
    """A directory with a Vosk model's layout; its files are placeholders, not a loadable model."""
    for rel in files:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(f"placeholder {rel}\n".encode())
    return root


def make_aar(repo: Path, *, model: bool = True, sha1: str | None = None) -> Path:
    """A fake local Maven repository holding the model's .aar (and its .sha1) where Maven puts it."""
    group, artifact, version = MAVEN_ARTIFACT
    aar = repo.joinpath(*group.split("."), artifact, version, f"{artifact}-{version}.aar")
    aar.parent.mkdir(parents=True)
    with zipfile.ZipFile(aar, "w") as zf:
        zf.writestr("AndroidManifest.xml", "<manifest/>")
        zf.writestr("classes.jar", "")
        zf.writestr("assets/model-en-us/", "")
        for rel in MODEL_FILES if model else ("README",):
            zf.writestr(f"assets/model-en-us/{rel}", f"placeholder {rel}\n")
    digest = sha1 or hashlib.sha1(aar.read_bytes()).hexdigest()
    aar.with_name(aar.name + ".sha1").write_text(digest)
    return aar


def unreachable(tmp_path: Path) -> str:
    """A URL that fails at once, standing in for the model site when there is no route to it."""
    return (tmp_path / "no-such-model.zip").as_uri()


def leftovers(parent: Path) -> list[str]:
    return [p.name for p in parent.iterdir() if p.name.startswith(".")]


# default_model_dir


def test_default_model_dir_under_xdg_cache_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert default_model_dir() == tmp_path / "callcoach" / "models" / "vosk-model-small-en-us"


@pytest.mark.parametrize("xdg", [None, "", "relative/cache"])
def test_default_model_dir_falls_back_to_home_cache(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, xdg: str | None
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    if xdg is None:
        monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    else:
        monkeypatch.setenv("XDG_CACHE_HOME", xdg)
    assert default_model_dir() == tmp_path / ".cache" / "callcoach" / "models" / "vosk-model-small-en-us"


# check_model_dir


def test_check_missing_dir(tmp_path: Path) -> None:
    with pytest.raises(ModelError) as err:
        check_model_dir(tmp_path / "nope")
    assert err.value.code == "model_missing"
    assert err.value.message == (
        f"No Vosk model at {tmp_path / 'nope'}: run `callcoach model fetch` "
        "(or pass --model DIR / set CALLCOACH_MODEL to a Vosk model directory)"
    )
    assert str(err.value) == err.value.message


def test_check_empty_dir(tmp_path: Path) -> None:
    with pytest.raises(ModelError) as err:
        check_model_dir(tmp_path)
    assert err.value.code == "model_missing"
    assert "directory is empty" in err.value.message
    assert "callcoach model fetch" in err.value.message


def test_check_file_instead_of_dir(tmp_path: Path) -> None:
    (tmp_path / "model.zip").write_bytes(b"PK")
    with pytest.raises(ModelError) as err:
        check_model_dir(tmp_path / "model.zip")
    assert err.value.code == "model_missing"
    assert "not a directory" in err.value.message


@pytest.mark.parametrize(
    ("files", "named"),
    [
        (("conf/model.conf", "graph/HCLG.fst"), "am/final.mdl"),
        (("am/final.mdl", "graph/HCLG.fst"), "conf/model.conf"),
        (("am/final.mdl", "conf/model.conf"), "graph/HCLG.fst"),
        # Half of the lookahead pair is not a graph.
        (("am/final.mdl", "conf/model.conf", "graph/HCLr.fst"), "graph/HCLr.fst + graph/Gr.fst"),
        (("README",), "am/final.mdl, conf/model.conf, graph/HCLG.fst"),
    ],
)
def test_check_partial_dir(tmp_path: Path, files: tuple[str, ...], named: str) -> None:
    with pytest.raises(ModelError) as err:
        check_model_dir(make_model(tmp_path, files))
    assert err.value.code == "model_broken"
    assert named in err.value.message
    assert str(tmp_path) in err.value.message
    assert "callcoach model fetch" in err.value.message
    assert "\n" not in err.value.message


@pytest.mark.parametrize(
    "files",
    [MODEL_FILES, ("am/final.mdl", "conf/model.conf", "graph/HCLG.fst")],
    ids=["lookahead-graph", "static-graph"],
)
def test_check_complete_dir(tmp_path: Path, files: tuple[str, ...]) -> None:
    check_model_dir(make_model(tmp_path, files))


# load_model


def test_load_missing_model(tmp_path: Path) -> None:
    with pytest.raises(ModelError) as err:
        load_model(tmp_path / "nope")
    assert err.value.code == "model_missing"


def test_load_broken_model(tmp_path: Path) -> None:
    # Every file Vosk asks for is there, and every one is garbage.
    with pytest.raises(ModelError) as err:
        load_model(make_model(tmp_path))
    assert err.value.code == "model_broken"
    assert str(tmp_path) in err.value.message
    assert "callcoach model fetch" in err.value.message
    assert isinstance(err.value.__cause__, Exception)


# fetch_model


def test_fetch_is_a_noop_on_a_valid_dir(tmp_path: Path) -> None:
    dest = make_model(tmp_path / "model")
    before = {p: p.read_bytes() for p in dest.rglob("*") if p.is_file()}
    said: list[str] = []
    failing_mvn = (sys.executable, "-c", "raise SystemExit(1)")
    assert fetch_model(dest, progress=said.append, url=unreachable(tmp_path), mvn=failing_mvn) == dest
    assert {p: p.read_bytes() for p in dest.rglob("*") if p.is_file()} == before
    assert said == [f"model: already installed at {dest}"]


def test_fetch_from_the_model_site(tmp_path: Path) -> None:
    # The site's zip holds one top directory named after the release.
    archive = tmp_path / "vosk-model-small-en-us-0.15.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for rel in MODEL_FILES:
            zf.writestr(f"vosk-model-small-en-us-0.15/{rel}", f"placeholder {rel}\n")
    dest = tmp_path / "cache" / "vosk-model-small-en-us"
    said: list[str] = []
    failing_mvn = (sys.executable, "-c", "raise SystemExit(1)")
    assert fetch_model(dest, progress=said.append, url=archive.as_uri(), mvn=failing_mvn) == dest
    check_model_dir(dest)
    assert (dest / "graph" / "Gr.fst").read_text() == "placeholder graph/Gr.fst\n"
    assert said[-1] == f"model: installed at {dest} (from the Vosk model site)"
    assert leftovers(dest.parent) == []


def test_fetch_falls_back_to_maven(tmp_path: Path) -> None:
    repo = tmp_path / "m2"
    make_aar(repo)
    dest = tmp_path / "cache" / "vosk-model-small-en-us"
    said: list[str] = []
    got = fetch_model(dest, progress=said.append, url=unreachable(tmp_path), mvn=NOOP_MVN, maven_repo=repo)
    assert got == dest
    check_model_dir(dest)
    assert sorted(str(p.relative_to(dest)) for p in dest.rglob("*") if p.is_file()) == sorted(MODEL_FILES)
    assert (dest / "am" / "final.mdl").read_text() == "placeholder am/final.mdl\n"
    assert any("trying Maven Central" in line for line in said)
    assert said[-1] == f"model: installed at {dest} (from Maven Central via mvn)"
    assert leftovers(dest.parent) == []


def test_fetch_replaces_an_empty_dest(tmp_path: Path) -> None:
    repo = tmp_path / "m2"
    make_aar(repo)
    dest = tmp_path / "model"
    dest.mkdir()
    fetch_model(dest, progress=lambda _: None, url=unreachable(tmp_path), mvn=NOOP_MVN, maven_repo=repo)
    check_model_dir(dest)


def test_fetch_finds_the_repository_mvn_names(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # Nothing in ~/.m2/repository: the code asks mvn where its local repository is (settings.xml may
    # move it), and mvn -q wraps its answer in colour codes.
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    repo = tmp_path / "elsewhere"
    make_aar(repo)
    answer = f"\x1b[0m{repo}\x1b[0m"
    fake_mvn = (
        sys.executable,
        "-c",
        f"import sys; 'help:evaluate' in sys.argv and print({answer!r}, end='')",
    )
    dest = tmp_path / "model"
    fetch_model(dest, progress=lambda _: None, url=unreachable(tmp_path), mvn=fake_mvn)
    check_model_dir(dest)


def test_fetch_rejects_a_bad_sha1(tmp_path: Path) -> None:
    repo = tmp_path / "m2"
    aar = make_aar(repo, sha1="0" * 40)
    dest = tmp_path / "model"
    with pytest.raises(ModelError) as err:
        fetch_model(dest, progress=lambda _: None, url=unreachable(tmp_path), mvn=NOOP_MVN, maven_repo=repo)
    assert err.value.code == "model_fetch_failed"
    assert "SHA-1" in err.value.message
    assert str(aar) in err.value.message
    # The message names both routes and what to do.
    assert "Vosk model site" in err.value.message
    assert "Maven Central" in err.value.message
    assert "unzip it to" in err.value.message
    assert "\n" not in err.value.message
    assert not dest.exists()
    assert leftovers(tmp_path) == []


def test_fetch_without_sha1_file(tmp_path: Path) -> None:
    aar = make_aar(tmp_path / "m2")
    aar.with_name(aar.name + ".sha1").unlink()
    with pytest.raises(ModelError) as err:
        fetch_model(
            tmp_path / "model",
            progress=lambda _: None,
            url=unreachable(tmp_path),
            mvn=NOOP_MVN,
            maven_repo=tmp_path / "m2",
        )
    assert "no vosk-model-en-0.3.45.aar.sha1" in err.value.message


def test_fetch_aar_without_a_model(tmp_path: Path) -> None:
    make_aar(tmp_path / "m2", model=False)
    dest = tmp_path / "model"
    with pytest.raises(ModelError) as err:
        fetch_model(
            dest, progress=lambda _: None, url=unreachable(tmp_path), mvn=NOOP_MVN, maven_repo=tmp_path / "m2"
        )
    assert err.value.code == "model_fetch_failed"
    assert "holds no Vosk model" in err.value.message
    assert not dest.exists()


def test_fetch_without_mvn(tmp_path: Path) -> None:
    with pytest.raises(ModelError) as err:
        fetch_model(
            tmp_path / "model",
            progress=lambda _: None,
            url=unreachable(tmp_path),
            mvn=("callcoach-no-such-mvn",),
        )
    assert err.value.code == "model_fetch_failed"
    assert "apt-get install maven" in err.value.message


def test_fetch_reports_what_mvn_said(tmp_path: Path) -> None:
    failing_mvn = (
        sys.executable,
        "-c",
        "import sys; print('[ERROR] Could not resolve artifact', file=sys.stderr); sys.exit(1)",
    )
    with pytest.raises(ModelError) as err:
        fetch_model(tmp_path / "model", progress=lambda _: None, url=unreachable(tmp_path), mvn=failing_mvn)
    assert "`mvn dependency:get` failed: [ERROR] Could not resolve artifact" in err.value.message


def test_fetch_leaves_a_foreign_dir_alone(tmp_path: Path) -> None:
    dest = tmp_path / "mine"
    dest.mkdir()
    (dest / "notes.txt").write_text("keep me")
    with pytest.raises(ModelError) as err:
        fetch_model(dest, progress=lambda _: None, url=unreachable(tmp_path), mvn=NOOP_MVN)
    assert err.value.code == "model_fetch_failed"
    assert "not a Vosk model" in err.value.message
    assert (dest / "notes.txt").read_text() == "keep me"


# The real model


@pytest.mark.vosk
def test_load_real_model() -> None:
    path = Path(os.environ.get("CALLCOACH_MODEL") or default_model_dir())
    try:
        check_model_dir(path)
    except ModelError as exc:
        pytest.skip(exc.message)
    import vosk

    model = load_model(path)
    recognizer = vosk.KaldiRecognizer(model, 16_000)
    recognizer.AcceptWaveform(bytes(32_000))  # one second of silence
    assert json.loads(recognizer.FinalResult())["text"] == ""
