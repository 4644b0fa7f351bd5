"""The assembly cache synthesizes only when the CDK sources change (cli/local/cache.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from itest.cli.local.cache import assembly_cached, cache_root, cached_assembly, sources_key


class FakeSynth:
    """Stands in for a CDK synth: writes a manifest and counts its calls."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, outdir: Path) -> None:
        self.calls += 1
        (outdir / "manifest.json").write_text('{"version": "test"}')


@pytest.fixture
def sources(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    monkeypatch.setenv("ITEST_CACHE_DIR", str(tmp_path / "cache"))
    app = tmp_path / "project" / "app.py"
    infra = tmp_path / "project" / "infra"
    infra.mkdir(parents=True)
    app.write_text("app = 1\n")
    (infra / "stack.py").write_text("stack = 1\n")
    return [app, infra]


def test_a_second_run_reuses_the_assembly(sources: list[Path], tmp_path: Path) -> None:
    synth = FakeSynth()

    first = cached_assembly(synth, sources_key(sources))
    second = cached_assembly(synth, sources_key(sources))

    assert first == second
    assert first.parent == tmp_path / "cache" / "assemblies"
    assert (first / "manifest.json").is_file()
    assert synth.calls == 1
    assert assembly_cached(sources_key(sources))
    (sources[1] / "stack.py").write_text("stack = 2\n")
    assert not assembly_cached(sources_key(sources))


def test_a_changed_source_synthesizes_again(sources: list[Path]) -> None:
    synth = FakeSynth()
    first = cached_assembly(synth, sources_key(sources))

    (sources[1] / "stack.py").write_text("stack = 2\n")
    second = cached_assembly(synth, sources_key(sources))

    assert second != first
    assert synth.calls == 2


def test_bytecode_does_not_count_as_a_change(sources: list[Path]) -> None:
    synth = FakeSynth()
    first = cached_assembly(synth, sources_key(sources))

    (sources[1] / "__pycache__").mkdir()
    (sources[1] / "__pycache__" / "stack.cpython-311.pyc").write_bytes(b"\0")

    assert cached_assembly(synth, sources_key(sources)) == first
    assert synth.calls == 1


def test_a_failed_synth_leaves_nothing_behind(sources: list[Path], tmp_path: Path) -> None:
    def broken(outdir: Path) -> None:
        (outdir / "half-written.json").write_text("{")
        raise RuntimeError("jsii died")

    with pytest.raises(RuntimeError, match="jsii died"):
        cached_assembly(broken, sources_key(sources))
    with pytest.raises(RuntimeError, match=r"no manifest\.json"):
        cached_assembly(lambda outdir: None, sources_key(sources))

    assert list((tmp_path / "cache" / "assemblies").iterdir()) == []
    assert cached_assembly(FakeSynth(), sources_key(sources)).is_dir()


def test_missing_source_is_an_error(sources: list[Path], tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"nowhere\.py"):
        sources_key([tmp_path / "nowhere.py"])


def test_cache_root_follows_override_then_xdg_then_home(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("ITEST_CACHE_DIR", raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert cache_root() == tmp_path / ".cache" / "itest"

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_root() == tmp_path / "xdg" / "itest"

    monkeypatch.setenv("ITEST_CACHE_DIR", str(tmp_path / "mine"))
    assert cache_root() == tmp_path / "mine"
