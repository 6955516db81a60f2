"""Experiment result files are written whole or not at all."""

import json

import pytest

from rankcore.experiments._io import write_json


def test_write_json_replaces_the_file_only_when_complete(tmp_path, monkeypatch):
    path = write_json(tmp_path / "out" / "result.json", {"runs": [1, 2]})
    assert json.loads(path.read_text()) == {"runs": [1, 2]}
    with pytest.raises(TypeError):  # not serialisable: fails before any file is touched
        write_json(path, {"runs": object()})
    from pathlib import Path

    def interrupted(self, text, *args, **kw):  # the write itself dies half way
        Path.open(self, "w").write(text[: len(text) // 2])
        raise KeyboardInterrupt

    monkeypatch.setattr(Path, "write_text", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_json(path, {"runs": list(range(100))})
    monkeypatch.undo()
    assert json.loads(path.read_text()) == {"runs": [1, 2]}
    assert sorted(p.name for p in path.parent.iterdir()) == ["result.json"]
