"""Lambda code zips for the local-AWS tests."""

from __future__ import annotations

import io
import zipfile


def zip_files(files: dict[str, str]) -> bytes:
    """A Lambda code zip holding `files` (name -> source)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return buffer.getvalue()
