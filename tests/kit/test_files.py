"""Files under the uploads are written whole or not at all (``app/kit/files.py``)."""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

import pytest

from app.kit import files
from app.kit.errors import StorageFull, StorageUnavailable


def test_a_file_is_written_whole_under_its_name_with_nothing_beside_it(tmp_path: Path) -> None:
    target = tmp_path / "products" / "7" / "a.jpg"
    files.write_whole(target, b"\xff\xd8" + b"x" * 100_000)
    assert target.read_bytes() == b"\xff\xd8" + b"x" * 100_000
    assert [p.name for p in target.parent.iterdir()] == ["a.jpg"]


def test_a_failure_after_the_rename_removes_the_file_it_reports_as_not_saved(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        if stat.S_ISDIR(os.fstat(fd).st_mode):
            raise OSError(errno.EIO, "Input/output error")
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    with pytest.raises(StorageUnavailable):
        files.write_whole(tmp_path / "a.jpg", b"photo")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("code", "error"),
    [
        (errno.ENOSPC, StorageFull),
        (errno.EDQUOT, StorageFull),
        (errno.EACCES, StorageUnavailable),
        (errno.EROFS, StorageUnavailable),
    ],
)
def test_a_disk_that_is_full_is_told_apart_from_one_that_cannot_be_written(
    code: int, error: type[Exception], tmp_path: Path
) -> None:
    answer = files.storage_error(OSError(code, os.strerror(code)), tmp_path / "a.jpg")
    assert type(answer) is error
    assert answer.status_code == (507 if error is StorageFull else 503)
    assert str(tmp_path) not in answer.text  # the message never names the server's paths
