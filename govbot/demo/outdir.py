"""The demo's output folder: govbot deletes only the files it wrote there, which it lists in a marker file.

A folder is the demo's when it holds the marker. A new or empty folder becomes the demo's; any other folder is
refused, so `govbot demo --out .` or `--out ~` never touches a file govbot did not write. On a second run only
the files the marker lists are deleted: whatever a user added next to them stays.
"""

from __future__ import annotations

from pathlib import Path

MARKER = ".govbot-demo"
HEADER = "# Files `govbot demo` wrote in this folder (a re-run deletes these, and nothing else):"


class OutDirRefused(ValueError):
    """The folder cannot be used; the message says what to do in one sentence."""


def _files(folder: Path) -> set[str]:
    return {path.relative_to(folder).as_posix() for path in folder.rglob("*") if path.is_file() or path.is_symlink()}


def _listed(folder: Path) -> list[Path]:
    """The files the marker lists, each inside ``folder`` (an entry that points elsewhere is ignored)."""
    root = folder.resolve()
    paths = []
    for line in (folder / MARKER).read_text(encoding="utf-8").splitlines():
        entry = Path(line.strip())
        if not line.strip() or line.startswith("#") or entry.is_absolute() or ".." in entry.parts:
            continue
        path = folder / entry
        if path.parent.resolve().is_relative_to(root) and path.name != MARKER:
            paths.append(path)
    return paths


def prepare(folder: Path) -> set[str]:
    """Make ``folder`` ready for a run; return the files already there that are not govbot's (they stay)."""
    if folder.exists() and not folder.is_dir():
        raise OutDirRefused(f"{folder} is a file, not a folder: name a new or empty folder with --out")
    if not folder.exists():
        folder.mkdir(parents=True)
    elif (folder / MARKER).is_file():
        for path in _listed(folder):
            if path.is_symlink() or path.is_file():
                path.unlink()
            parent = path.parent
            while parent.resolve() != folder.resolve() and parent.is_dir() and not any(parent.iterdir()):
                parent.rmdir()  # a folder govbot's files were in, now empty
                parent = parent.parent
    elif any(folder.iterdir()):
        raise OutDirRefused(f"{folder} is not empty and was not made by `govbot demo`: name a new or empty folder "
                            "with --out (the demo deletes only files it wrote)")
    kept = _files(folder) - {MARKER}
    record(folder, kept, planned=("govbot.db",))
    return kept


def record(folder: Path, kept: set[str], planned: tuple[str, ...] = ()) -> None:
    """Write the marker: every file in ``folder`` that is not one of ``kept`` (and the ``planned`` ones)."""
    written = sorted((_files(folder) - kept - {MARKER}) | set(planned)) if folder.is_dir() else list(planned)
    (folder / MARKER).write_text("\n".join([HEADER, *written]) + "\n", encoding="utf-8")
