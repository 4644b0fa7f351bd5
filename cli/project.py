"""A project's folders: where files that apply to a scenario are looked for, and which
files an `.itestignore` leaves out of a folder of scenarios."""

from __future__ import annotations

from pathlib import Path

IGNORE_FILE = ".itestignore"


def project_folders(start: Path) -> list[Path]:
    """`start` and its parents up to the project: the current folder (when `start` is
    under it), the first folder holding `.git`, or the filesystem root."""
    stop = Path.cwd().resolve()
    folders = [start.resolve()]
    while not (folders[-1] == stop or (folders[-1] / ".git").exists()
               or folders[-1].parent == folders[-1]):
        folders.append(folders[-1].parent)
    return folders


def ignored(file: Path) -> bool:
    """Whether an `.itestignore` (gitignore syntax, relative to its own folder) in the
    file's folder or a parent leaves `file` out; a deeper file's rule wins."""
    from pathspec import GitIgnoreSpec

    verdict = None
    for folder in reversed(project_folders(file.parent)):
        rules = folder / IGNORE_FILE
        if not rules.is_file():
            continue
        spec = GitIgnoreSpec.from_lines(rules.read_text(encoding="utf-8").splitlines())
        relative = file.resolve().relative_to(folder).as_posix()
        result = spec.check_file(relative).include
        verdict = result if result is not None else verdict
    return bool(verdict)
