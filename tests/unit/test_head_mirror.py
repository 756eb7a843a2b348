"""The background audit-head mirror: it never stops mirroring, and loses no head at the drain."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from engine.core.gate import HeadMirror, read_head_file

A = "a" * 64
B = "b" * 64


def test_a_failed_sync_does_not_stop_later_heads_being_mirrored(tmp_path: Path) -> None:
    head_file = tmp_path / "head.json"
    failed = threading.Event()

    def sync() -> None:
        if not failed.is_set():
            failed.set()
            raise RuntimeError("the database is gone")

    mirror = HeadMirror(head_file, sync)
    mirror.put((1, A), unsynced=True)  # its sync fails: not written
    assert failed.wait(10)
    mirror.put((2, B), unsynced=True)  # the thread must still be there to write this
    mirror.drain()
    assert read_head_file(head_file) == (2, B)


def test_a_head_put_while_draining_is_still_written(tmp_path: Path) -> None:
    head_file = tmp_path / "head.json"
    mirror = HeadMirror(head_file, lambda: None)
    mirror.put((1, A))
    mirror.drain()
    mirror.put((2, B))  # a request committed as the server stopped
    assert read_head_file(head_file) == (2, B)


def test_the_head_file_is_on_the_disk_before_it_replaces_the_old_one(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The temporary file is synced before the rename: a power cut cannot leave a renamed,
    empty head file on a filesystem that does not flush data on rename."""
    import os

    from engine.core import gate

    done: list[str] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd: int) -> None:
        done.append(f"fsync {os.readlink(f'/proc/self/fd/{fd}')}")
        real_fsync(fd)

    def replace(src: str, dst: object) -> None:
        done.append(f"replace {src}")
        real_replace(src, dst)  # type: ignore[arg-type]

    monkeypatch.setattr(gate.os, "fsync", fsync)
    monkeypatch.setattr(gate.os, "replace", replace)
    gate.write_head_file(tmp_path / "head.json", (7, "ab" * 32))
    assert read_head_file(tmp_path / "head.json")[:2] == (7, "ab" * 32)
    temporary = done[-1].split(" ", 1)[1]
    assert done == [f"fsync {temporary}", f"replace {temporary}"]
