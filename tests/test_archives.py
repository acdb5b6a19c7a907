"""Saved files: temporaries, modes, format versions and damaged files (see tests/test_faults.py for kills)."""

import os
import stat
import subprocess
import sys
import zipfile

import numpy as np
import pytest

from dedup.atomic import create_temporary, host_tag, remove_stale_temporaries, set_final_mode
from dedup.archives import atomic_save, load_state


def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


@pytest.fixture
def umask_027():
    previous = os.umask(0o027)
    yield
    os.umask(previous)


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_temporary_of_a_killed_save_is_removed_by_the_next_save(tmp_path):
    target = tmp_path / "state"
    left = tmp_path / f".state.dedup-{host_tag()}-{dead_pid()}-k1ll3d.tmp"
    left.write_bytes(b"PK\x03\x04 half of an archive")
    left_folder = tmp_path / f".state.dedup-{host_tag()}-{dead_pid()}-f0ld3r.tmp"
    left_folder.mkdir()
    (left_folder / "part").write_bytes(b"x")
    atomic_save(target, "test.format", 1, {}, {"x": np.arange(3)})
    assert sorted(os.listdir(tmp_path)) == ["state"]


def test_temporary_of_a_running_save_and_other_files_are_left_alone(tmp_path):
    # A process that runs until it is killed (no timer: a slow machine cannot outlast it).
    sleeper = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE)
    try:
        running = tmp_path / f".state.dedup-{host_tag()}-{sleeper.pid}-busy.tmp"
        running.write_bytes(b"")
        other_target = tmp_path / f".other.dedup-{host_tag()}-{dead_pid()}-abc.tmp"
        other_target.write_bytes(b"")
        user_file = tmp_path / ".state.dedup-notes.txt"
        user_file.write_bytes(b"mine")
        assert remove_stale_temporaries(tmp_path / "state") == []
        atomic_save(tmp_path / "state", "test.format", 1, {}, {"x": np.arange(3)})
        assert sorted(os.listdir(tmp_path)) == sorted([running.name, other_target.name, user_file.name, "state"])
    finally:
        sleeper.kill()
        sleeper.wait()
        sleeper.stdin.close()


def test_temporary_of_another_host_is_removed_only_when_a_day_old(tmp_path):
    fresh = tmp_path / ".state.dedup-other-machine-12-fresh.tmp"
    old = tmp_path / ".state.dedup-other-machine-12-old1.tmp"
    fresh.write_bytes(b"")
    old.write_bytes(b"")
    two_days_ago = os.stat(old).st_mtime - 2 * 24 * 3600
    os.utime(old, (two_days_ago, two_days_ago))
    assert remove_stale_temporaries(tmp_path / "state") == [str(old)]
    assert os.listdir(tmp_path) == [fresh.name]


def test_temporary_names_say_what_they_belong_to(tmp_path):
    temporary = create_temporary(tmp_path / "index.npz")
    name = os.path.basename(temporary)
    assert name.startswith(f".index.npz.dedup-{host_tag()}-{os.getpid()}-") and name.endswith(".tmp")


def test_new_file_and_folder_honour_the_umask(tmp_path, umask_027):
    atomic_save(tmp_path / "state", "test.format", 1, {}, {"x": np.arange(3)})
    assert mode(tmp_path / "state") == 0o640
    folder = create_temporary(tmp_path / "out", folder=True)
    assert mode(folder) == 0o700  # private while written
    set_final_mode(folder, tmp_path / "out")
    assert mode(folder) == 0o750


def test_read_only_file_can_be_replaced_and_stays_read_only(tmp_path):
    target = tmp_path / "state"
    atomic_save(target, "test.format", 1, {}, {"x": np.arange(3)})
    os.chmod(target, 0o444)
    atomic_save(target, "test.format", 1, {}, {"x": np.arange(5)})
    assert mode(target) == 0o444 and len(load_state(target, "test.format", 1)[1]["x"]) == 5


def test_replacing_a_file_keeps_its_mode(tmp_path, umask_027):
    target = tmp_path / "state"
    atomic_save(target, "test.format", 1, {}, {"x": np.arange(3)})
    os.chmod(target, 0o604)
    atomic_save(target, "test.format", 1, {}, {"x": np.arange(4)})
    assert mode(target) == 0o604
    assert load_state(target, "test.format", 1)[1]["x"].tolist() == [0, 1, 2, 3]


def test_unwritable_folder_names_the_target_not_the_temporary(tmp_path):
    if os.geteuid() == 0:
        pytest.skip("root writes into read-only folders")
    folder = tmp_path / "locked"
    folder.mkdir()
    os.chmod(folder, 0o500)
    try:
        with pytest.raises(PermissionError, match="locked/state"):
            atomic_save(folder / "state", "test.format", 1, {}, {"x": np.arange(3)})
    finally:
        os.chmod(folder, 0o700)


@pytest.mark.parametrize("where", ["missing-folder/state", "folder"], ids=["missing folder", "folder as target"])
def test_unwritable_target_names_it_and_no_temporary(tmp_path, monkeypatch, where):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "folder").mkdir()
    with pytest.raises(OSError) as caught:
        atomic_save(where, "test.format", 1, {}, {"x": np.arange(3)})
    assert caught.value.strerror.startswith(f"cannot write {where}: ") and ".tmp" not in str(caught.value)
    assert os.listdir(tmp_path) == ["folder"] and os.listdir(tmp_path / "folder") == []


def test_version_from_a_newer_dedup_is_refused_with_a_clear_error(tmp_path):
    path = tmp_path / "state"
    atomic_save(path, "test.format", 3, {}, {"x": np.arange(3)})
    with pytest.raises(ValueError, match=r"newer dedup .*version 3.*reads versions 1 to 2"):
        load_state(path, "test.format", 2, oldest=1)


def test_older_supported_version_loads_and_says_which_it_is(tmp_path):
    path = tmp_path / "state"
    atomic_save(path, "test.format", 1, {"layout": "old"}, {"x": np.arange(3)})
    meta, arrays = load_state(path, "test.format", 2, oldest=1)
    assert meta["version"] == 1 and meta["layout"] == "old" and arrays["x"].tolist() == [0, 1, 2]
    with pytest.raises(ValueError, match="older than the oldest this dedup reads"):
        load_state(path, "test.format", 2)


def test_loaded_arrays_are_writable_copies(tmp_path):
    path = tmp_path / "state"
    atomic_save(path, "test.format", 1, {}, {"x": np.arange(3, dtype=np.uint64), "f": np.asfortranarray(np.eye(2))})
    _, arrays = load_state(path, "test.format", 1)
    arrays["x"][0] = 7
    assert arrays["x"].dtype == np.uint64 and arrays["x"].tolist() == [7, 1, 2]
    assert arrays["f"].tolist() == [[1, 0], [0, 1]]


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"just some text\n",
        b"\x93NUMPY\x01\x00v\x00{'descr': '<i8', 'fortran_order': False, 'shape': (3,), }",
        b"PK\x03\x04",
    ],
    ids=["empty", "text", "single-npy", "zip-magic-only"],
)
def test_files_that_are_not_states_raise_value_error_naming_them(tmp_path, content):
    path = tmp_path / "not-a-state"
    path.write_bytes(content)
    with pytest.raises(ValueError, match="not-a-state") as caught:
        load_state(path, "test.format", 1)
    assert "allow_pickle" not in str(caught.value)


def test_zip_with_pickled_or_foreign_members_is_refused(tmp_path):
    path = tmp_path / "foreign.npz"
    np.savez(path, meta=np.frombuffer(b'{"format": "test.format", "version": 1}', dtype=np.uint8),
             objects=np.array([{"a": 1}], dtype=object))
    with pytest.raises(ValueError, match="Python objects"):
        load_state(path, "test.format", 1)
    with zipfile.ZipFile(tmp_path / "other.zip", "w") as archive:
        archive.writestr("readme.txt", "hello")
    with pytest.raises(ValueError, match="unexpected member"):
        load_state(tmp_path / "other.zip", "test.format", 1)


def test_folder_and_missing_file(tmp_path):
    with pytest.raises(ValueError, match="is a folder"):
        load_state(tmp_path, "test.format", 1)
    with pytest.raises(FileNotFoundError, match="missing"):
        load_state(tmp_path / "missing", "test.format", 1)


def test_the_old_module_name_still_imports_with_a_deprecation_warning():
    import importlib
    import sys

    import dedup.archives

    sys.modules.pop("dedup.storage", None)
    with pytest.warns(DeprecationWarning, match="dedup.archives"):
        old = importlib.import_module("dedup.storage")
    assert old.load_state is dedup.archives.load_state and old.atomic_save is dedup.archives.atomic_save
