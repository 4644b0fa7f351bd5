"""moto's region lists come from botocore once per botocore version, then from the state folder."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from botocore.session import Session
from itest.cli.local import known_regions


@pytest.fixture(autouse=True)
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ITEST_CACHE_DIR", str(tmp_path))
    return tmp_path


def test_answers_are_botocores_and_are_read_back_without_asking_botocore(
    cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    expected = Session().get_available_regions("dynamodb", partition_name="aws-cn")
    original = Session.get_available_regions
    undo = known_regions.install()
    try:
        assert Session().get_available_regions("dynamodb", partition_name="aws-cn") == expected
    finally:
        undo()
    assert Session.get_available_regions is original
    saved = known_regions.regions_file()
    assert saved.parent == cache / "local"
    assert stat.S_IMODE(saved.parent.stat().st_mode) == 0o700

    def no_model(*args: object, **kwargs: object) -> None:
        raise AssertionError("botocore's model was read again")

    monkeypatch.setattr(Session, "get_service_data", no_model)
    undo = known_regions.install()
    try:
        assert Session().get_available_regions("dynamodb", partition_name="aws-cn") == expected
    finally:
        undo()
    assert saved.is_file()


def test_a_damaged_file_is_asked_again() -> None:
    path = known_regions.regions_file()
    path.write_text("[not what it wrote")
    undo = known_regions.install()
    try:
        assert "us-east-1" in Session().get_available_regions("s3")
    finally:
        undo()
    assert '"s3 aws False": [' in path.read_text()
