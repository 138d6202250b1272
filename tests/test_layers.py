"""The import direction between the four packages: ``web → live → {audio, detectors}``.

Every module under ``audio/``, ``detectors/``, ``live/`` and ``web/`` is parsed with :mod:`ast` (nothing is
imported, so no side effects and no optional dependency needed) and each of its ``callcoach.*`` imports is
checked, those inside functions and ``TYPE_CHECKING`` blocks included: a lazy import is still a dependency.
A layer may import itself and the layers below it, never one above. ``audio`` and ``detectors`` sit side by
side at the bottom and may not import each other; from ``live`` they may take only the events layer (the
typed events every layer speaks), nothing else. A failure names the module, the line and the rule.

The tables below are the whole policy; a drift that is known and accepted is an entry in
:data:`EXCEPTIONS`, with the reason beside it, and an entry nothing needs any more fails too.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "callcoach"

# Each layer (a folder, installed as callcoach.<folder>) and the other layers it may import. The top may
# reach past the middle (web uses audio's codecs and resampler directly); nothing may point upwards.
ALLOWED: dict[str, frozenset[str]] = {
    "web": frozenset({"live", "audio", "detectors"}),
    "live": frozenset({"audio", "detectors"}),
    "audio": frozenset(),
    "detectors": frozenset(),
}

# The modules of live that audio and detectors may import: the typed events and their wire form.
# live/events.py is being split into these three; the other two names are allowed before they exist.
EVENTS_LAYER: frozenset[str] = frozenset(
    {"callcoach.live.events", "callcoach.live.messages", "callcoach.live.codec"}
)
EVENTS_USERS: frozenset[str] = frozenset({"audio", "detectors"})

# (importing module, imported module) -> why this arrow against the direction is accepted for now.
EXCEPTIONS: dict[tuple[str, str], str] = {
    # The program's entry point is the top layer, above web: `callcoach serve` and the other server
    # commands live in callcoach.web.commands, which cli.py imports lazily so that the commands that need
    # no server start without aiohttp. Known drift: the entry point sits in live/ rather than above it.
    ("callcoach.live.cli", "callcoach.web.commands"): "entry point dispatching to the server commands",
}


@dataclass(frozen=True)
class Violation:
    module: str  # dotted name of the importing module
    path: Path  # its file, relative to the tree checked
    line: int
    target: str  # the callcoach module it imports
    rule: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.module} imports {self.target}: {self.rule}"


def module_name(root: Path, path: Path) -> str:
    """``root/live/cli.py`` -> ``callcoach.live.cli``; a package's ``__init__.py`` is the package."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join([PACKAGE, *parts])


def is_module(root: Path, dotted: str) -> bool:
    """Whether ``dotted`` (``callcoach.x.y``) is a module or package in the tree, not a name inside one."""
    rel = Path(*dotted.split(".")[1:])
    return (root / rel).with_suffix(".py").is_file() or (root / rel / "__init__.py").is_file()


def _absolute(node: ast.ImportFrom, module: str, is_package: bool) -> str:
    """The absolute module a ``from ... import`` names, resolving ``from .x`` against ``module``."""
    if node.level == 0:
        return node.module or ""
    base = module.split(".")
    # A package's own name is its level-1 anchor; a plain module's anchor is its parent.
    anchor = base if is_package else base[:-1]
    anchor = anchor[: len(anchor) - (node.level - 1)]
    return ".".join([*anchor, *([node.module] if node.module else [])])


def imports(root: Path, path: Path) -> list[tuple[int, str]]:
    """Every ``callcoach.*`` module ``path`` imports, anywhere in the file, as (line, dotted name).

    ``from callcoach.live import events`` imports the module ``callcoach.live.events``; ``from
    callcoach.live.events import Alert`` imports ``callcoach.live.events`` (Alert is not a module)."""
    module = module_name(root, path)
    is_package = path.name == "__init__.py"
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(node, module, is_package)
            for alias in node.names:
                child = f"{base}.{alias.name}"
                found.append((node.lineno, child if is_module(root, child) else base))
    return sorted((line, name) for line, name in found if name.split(".")[0] == PACKAGE)


def layer_of(dotted: str) -> str | None:
    parts = dotted.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == PACKAGE else None


def broken_rule(source: str, target: str) -> str | None:
    """Why a module of layer ``source`` may not import ``target``, or None if it may."""
    dest = layer_of(target)
    if dest is None or dest == source or dest in ALLOWED[source]:
        return None
    if source in EVENTS_USERS and dest == "live" and target in EVENTS_LAYER:
        return None
    if source in EVENTS_USERS and dest == "live":
        allowed = ", ".join(sorted(EVENTS_LAYER))
        return f"{source} may import from live only its events layer ({allowed})"
    if source in EVENTS_USERS and dest in EVENTS_USERS:
        return f"{source} and {dest} are side by side under live: neither imports the other"
    return f"the direction is web → live → audio/detectors: {source} may not import {dest}"


def violations(
    root: Path, exceptions: dict[tuple[str, str], str] | None = None
) -> tuple[list[Violation], set[tuple[str, str]]]:
    """Every import against the direction in the tree at ``root`` (folders named as :data:`ALLOWED`),
    less the ``exceptions``; and which exceptions were used."""
    exceptions = EXCEPTIONS if exceptions is None else exceptions
    found: list[Violation] = []
    used: set[tuple[str, str]] = set()
    for source in sorted(ALLOWED):
        for path in sorted((root / source).rglob("*.py")):
            module = module_name(root, path)
            for line, target in imports(root, path):
                rule = broken_rule(source, target)
                if rule is None:
                    continue
                if (module, target) in exceptions:
                    used.add((module, target))
                    continue
                found.append(Violation(module, path.relative_to(root), line, target, rule))
    return found, used


# --- the project -----------------------------------------------------------------------------------------


def test_every_import_points_down_the_layers() -> None:
    found, _ = violations(ROOT)
    assert not found, "imports against the direction:\n" + "\n".join(map(str, found))


def test_every_exception_is_still_needed() -> None:
    _, used = violations(ROOT)
    stale = sorted(set(EXCEPTIONS) - used)
    assert not stale, f"these exceptions match no import any more; remove them from EXCEPTIONS: {stale}"


def test_the_checker_reads_the_real_tree() -> None:
    """Guards against a checker that passes by reading nothing: today's code has known imports."""
    channels = {name for _, name in imports(ROOT, ROOT / "audio" / "channels.py")}
    assert {"callcoach.audio.errors", "callcoach.live.events"} <= channels
    assert "callcoach.web.commands" in {name for _, name in imports(ROOT, ROOT / "live" / "cli.py")}


# --- the checker, on a made-up tree ----------------------------------------------------------------------


def _tree(root: Path, files: dict[str, str]) -> Path:
    for name in ("audio", "detectors", "live", "web"):
        (root / name).mkdir()
        (root / name / "__init__.py").write_text('"""A layer."""\n')
    for rel, text in files.items():
        (root / rel).write_text(text)
    return root


def test_the_checker_finds_each_kind_of_wrong_arrow(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            "live/events.py": "X = 1\n",
            "live/session.py": "from callcoach.live.events import X\nfrom callcoach.audio import decode\n",
            "audio/decode.py": (
                "from callcoach.live.events import X\n"
                "from callcoach.live import events\n"
                "def lazy():\n"
                "    from callcoach.detectors.silence import S\n"  # inside a function: still counted
                "    return S\n"
            ),
            "detectors/silence.py": (
                "import callcoach.live.session\nfrom callcoach.live.codec import to_json\nS = 1\n"
            ),
            "live/cli.py": "import os\n\n\nfrom callcoach.web import app\n",
            "web/app.py": "from callcoach.live.session import X\nfrom callcoach.audio.decode import lazy\n",
            "web/rooms.py": "from . import app\nfrom ..live import session\n",
        },
    )
    found, used = violations(root, exceptions={})
    assert [(str(v.path), v.line, v.target) for v in found] == [
        ("audio/decode.py", 4, "callcoach.detectors.silence"),
        ("detectors/silence.py", 1, "callcoach.live.session"),
        ("live/cli.py", 4, "callcoach.web.app"),
    ]
    assert used == set()
    messages = [str(v) for v in found]
    assert messages[0] == (
        "audio/decode.py:4: callcoach.audio.decode imports callcoach.detectors.silence: "
        "audio and detectors are side by side under live: neither imports the other"
    )
    assert "detectors may import from live only its events layer" in messages[1]
    assert "the direction is web → live → audio/detectors: live may not import web" in messages[2]


def test_an_exception_lets_exactly_its_own_arrow_through(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            "web/commands.py": "X = 1\n",
            "web/app.py": "X = 1\n",
            "live/cli.py": "def web():\n    from callcoach.web import commands\n    return commands\n",
            "live/report.py": "from callcoach.web import commands\n",
        },
    )
    exception = ("callcoach.live.cli", "callcoach.web.commands")
    found, used = violations(root, exceptions={exception: "the entry point"})
    assert [(v.module, v.line, v.target) for v in found] == [
        ("callcoach.live.report", 1, "callcoach.web.commands")
    ]
    assert used == {exception}


@pytest.mark.parametrize(
    ("module", "is_package", "source", "expected"),
    [
        ("callcoach.web.rooms", False, "from . import app", "callcoach.web.app"),
        ("callcoach.web.rooms", False, "from ..live import session", "callcoach.live.session"),
        ("callcoach.web", True, "from .ingest import twilio", "callcoach.web.ingest.twilio"),
        ("callcoach.web.ingest.twilio", False, "from ...audio.g711 import x", "callcoach.audio.g711"),
    ],
)
def test_relative_imports_are_resolved(
    tmp_path: Path, module: str, is_package: bool, source: str, expected: str
) -> None:
    root = _tree(tmp_path, {})
    (root / "web" / "ingest").mkdir()
    for rel in ("web/app.py", "web/ingest/__init__.py", "web/ingest/twilio.py", "live/session.py"):
        (root / rel).write_text("")
    (root / "audio" / "g711.py").write_text("x = 1\n")
    parts = module.split(".")[1:]
    path = root.joinpath(*parts, "__init__.py") if is_package else root.joinpath(*parts).with_suffix(".py")
    path.write_text(source + "\n")
    assert imports(root, path) == [(1, expected)]
