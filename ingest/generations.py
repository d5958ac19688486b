"""An index directory's life: whose it is, its generations, locks, publishing and cleanup.

Layout of ``--index DIR``::

    DIR/.kotae-index                        kotae's record: this directory is an index, and
                                            the generations and temporary directories it made
    DIR/.lock                               held (flock) by the one ingest writing DIR
    DIR/current -> gen-20261127T150102-1234 a symlink, swapped atomically
    DIR/gen-…/                              one whole index (see ingest.index, ingest.manifest)
    DIR/gen-…/.readers                      empty; readers hold a shared flock on it while loading

A new generation is written beside the old one in a hidden temporary directory,
flushed to disk, renamed, and only then does ``current`` point at it. A crash at any
moment leaves ``current`` on a whole generation, and a reader that resolved
``current`` keeps reading one generation from start to end: while it loads it holds a
shared lock on the generation's ``.readers`` file (:func:`reading`), and cleanup
removes no generation whose lock is held.

kotae deletes only what it made. It writes into a directory that is new, empty or
already marked by ``.kotae-index``, and names each directory in that record before
creating it; cleanup removes only names the record holds. A ``gen-2019-photos`` a
user keeps beside the index, or an index pointed at ``/``, is never touched.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import shutil
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from .errors import IndexFileError, KotaeError
from .manifest import MANIFEST

CURRENT = "current"
KEEP_GENERATIONS = 2  # the live one and the one before it (readers may still hold it)
READERS = ".readers"
RECORD = ".kotae-index"
LOCK = ".lock"
_LINK_TMP = f".{CURRENT}.new"  # the new `current` link before it replaces the old one


def checkpoint(stage: str) -> None:
    """A named point of an ingest (loaded, prepared, store-written, lexical-written,
    renamed, published). It does nothing; a test replaces it to stop or fail there."""


# -- reading ---------------------------------------------------------------------


def generation(index_dir: Path) -> Path:
    """The directory of the live generation; raise IndexFileError if there is none."""
    index_dir = Path(index_dir)
    if index_dir.exists() and not index_dir.is_dir():
        raise IndexFileError(f"{index_dir} is a file, not an index directory; "
                             f"build an index with: kotae ingest PATH --index DIR")
    if (index_dir / MANIFEST).is_file():  # a generation given directly
        return index_dir
    link = index_dir / CURRENT
    if not index_dir.exists():
        raise IndexFileError(f"no index at {index_dir}; build one with: kotae ingest PATH --index {index_dir}")
    if link.is_symlink() and not link.exists():  # its generation was deleted by hand
        raise IndexFileError(f"{link} points to {os.readlink(link)}, which is missing; "
                             f"rebuild the index with: kotae ingest PATH --index {index_dir}")
    if not link.exists():
        raise IndexFileError(f"{index_dir} is not a kotae index (no {CURRENT}); "
                             f"build one with: kotae ingest PATH --index {index_dir}")
    if not link.is_dir():
        raise IndexFileError(f"{link} is a file, not a link to a generation; remove {index_dir} "
                             "and ingest again")
    return link.resolve()


@contextmanager
def reading(index_dir: str | os.PathLike[str]) -> Iterator[Path]:
    """The live generation, kept from cleanup while the caller reads it.

    Keeping the last KEEP_GENERATIONS generations is not enough on its own: a reader
    that resolved ``current`` and then loads slowly loses its generation to two quick
    ingests (its store vanished mid-load). So a reader holds a shared flock on the
    generation's ``.readers`` file, and :func:`remove_generation` skips a generation
    whose lock it cannot take. Cleanup renames a generation away before deleting it, so
    one removed between resolving ``current`` and taking the lock is simply gone, and
    ``current`` is resolved again.
    """
    index_dir = Path(index_dir)
    for _ in range(20):
        gen = generation(index_dir)
        try:
            fd = os.open(gen / READERS, os.O_RDONLY)
        except FileNotFoundError:
            if gen.is_dir():  # written before reader locks existed, or damaged: read as it is
                yield gen
                return
            continue  # removed after `current` was resolved: resolve it again
        try:
            fcntl.flock(fd, fcntl.LOCK_SH)
            if gen.is_dir():  # still there once locked
                yield gen
                return
        finally:
            os.close(fd)
    raise IndexFileError(f"{index_dir}: the index kept changing while it was being opened; try again")


# -- whose directory: the record -----------------------------------------------------


def read_record(index_dir: Path) -> list[str] | None:
    """The names the record holds, or None if ``index_dir`` has no readable record."""
    try:
        data = json.loads((index_dir / RECORD).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    names = data.get("made") if isinstance(data, dict) else None
    if not isinstance(names, list) or not all(isinstance(n, str) and "/" not in n for n in names):
        return None
    return names


def write_record(index_dir: Path, names: list[str]) -> None:
    """Replace the record atomically (a crash leaves the old one or the new one)."""
    tmp = index_dir / f"{RECORD}.new"
    body = {"what": "a kotae index directory; kotae removes only the entries named in 'made'",
            "made": sorted(set(names))}
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(body, f, ensure_ascii=False, indent=1)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, index_dir / RECORD)
    fsync_dir(index_dir)


def remember(index_dir: Path, name: str) -> None:
    """Name ``name`` in the record before it is created, so a crash cannot orphan it."""
    write_record(index_dir, (read_record(index_dir) or []) + [name])


def _made_by_an_older_kotae(index_dir: Path) -> list[str] | None:
    """The generations of an index written before the record existed, or None if
    ``index_dir`` is not one: ``current`` links to a gen-* here holding a manifest."""
    link = index_dir / CURRENT
    if not (link.is_symlink() and os.readlink(link).startswith("gen-") and "/" not in os.readlink(link)
            and (link / MANIFEST).is_file()):
        return None
    return [p.name for p in index_dir.glob("gen-*") if p.is_dir() and (p / MANIFEST).is_file()]


def claim(index_dir: Path) -> None:
    """Make ``index_dir`` an index kotae may write, or raise IndexFileError if it is not one.

    New or empty: created and marked. Marked: ours. Unmarked but an index an older
    kotae wrote: marked, naming its generations. Anything else (a home directory,
    ``/``, a photo folder): refused, and nothing is written there.
    """
    if index_dir.exists() and not index_dir.is_dir():
        raise IndexFileError(f"--index {index_dir} is a file, not a directory; choose a directory for the index")
    try:
        index_dir.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise IndexFileError(f"cannot create the index directory {index_dir}: a part of that path is "
                             "a file; choose another --index") from None
    copied = (index_dir / CURRENT / MANIFEST).is_file() and not (index_dir / CURRENT).is_symlink()
    if (index_dir / RECORD).is_file() or copied:
        _check_current(index_dir)
        if read_record(index_dir) is None:  # damaged: keep what we can tell, remove nothing else
            write_record(index_dir, _made_by_an_older_kotae(index_dir) or [])
        return
    if not any(index_dir.iterdir()):
        write_record(index_dir, [])
        return
    older = _made_by_an_older_kotae(index_dir)
    if older is None:
        raise IndexFileError(f"{index_dir} is not empty and is not a kotae index; kotae writes only into a "
                             "new or empty directory or an index it made: choose another --index")
    write_record(index_dir, older)


def _check_current(index_dir: Path) -> None:
    """``current`` must be a link (or absent): an ingest switches it with one rename."""
    link = index_dir / CURRENT
    if os.path.lexists(link) and not link.is_symlink():
        # cp -rL copies the generation `current` points to as a real directory: it still
        # reads, but no rename can replace a directory with the next generation's link.
        raise IndexFileError(f"{link} is a {'directory' if link.is_dir() else 'file'}, not a link (was the "
                             "index copied with cp -L?); copy indexes with cp -a, or remove "
                             f"{index_dir} and ingest again")


# -- writing ------------------------------------------------------------------------


@contextmanager
def locked(index_dir: Path) -> Iterator[None]:
    """The one writer of ``index_dir``: a second ingest fails at once instead of waiting."""
    fd = os.open(index_dir / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise KotaeError(f"another kotae ingest is writing {index_dir}; wait for it to finish") from None
        yield
    finally:
        os.close(fd)


def new_temporary(index_dir: Path) -> Path:
    """A name for the generation being written, already in the record (not yet created)."""
    tmp = index_dir / f".tmp-{os.getpid()}-{time.time_ns()}"
    remember(index_dir, tmp.name)
    return tmp


def fsync_tree(path: Path) -> None:
    for root, _dirs, files in os.walk(path):
        for name in files:
            fd = os.open(os.path.join(root, name), os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        fsync_dir(Path(root))


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def publish(index_dir: Path, tmp: Path) -> Path:
    """Make the written generation ``tmp`` live: flush, rename, switch ``current``."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
    final = index_dir / f"gen-{stamp}-{os.getpid()}"
    fsync_tree(tmp)
    remember(index_dir, final.name)
    os.rename(tmp, final)
    checkpoint("renamed")
    link_tmp = index_dir / _LINK_TMP
    if link_tmp.is_symlink() or link_tmp.exists():
        link_tmp.unlink()
    os.symlink(final.name, link_tmp)
    os.replace(link_tmp, index_dir / CURRENT)
    fsync_dir(index_dir)
    return final


def clean_old(index_dir: Path, live: Path) -> None:
    """Remove what earlier ingests made and no longer need: generations but the last
    KEEP_GENERATIONS (and any a reader holds), and what killed ingests left. Only names
    the record holds are touched."""
    made = read_record(index_dir) or []
    gens = sorted(n for n in made if n.startswith("gen-") and (index_dir / n).is_dir())
    keep = {live.name} | set(gens[-KEEP_GENERATIONS:])
    left = []
    for name in made:
        path, trash = index_dir / name, index_dir / f".tmp-{name}"
        if name not in keep:
            if name.startswith("gen-") and path.is_dir():
                remove_generation(index_dir, path)
            elif path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
            if trash.is_dir():  # a removal that was cut short
                shutil.rmtree(trash, ignore_errors=True)
        if os.path.lexists(path) or os.path.lexists(trash):
            left.append(name)
    write_record(index_dir, left)


def remove_generation(index_dir: Path, gen: Path) -> None:
    """Remove an old generation unless a reader is loading it (see :func:`reading`)."""
    try:
        fd = os.open(gen / READERS, os.O_RDONLY)
    except OSError:
        fd = None  # written before reader locks existed
    try:
        if fd is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return  # being read: a later ingest removes it
        # Renamed away first, under the lock, so that a reader sees the whole generation
        # or none of it; a removal cut short is a .tmp-gen-* that the next ingest clears.
        trash = index_dir / f".tmp-{gen.name}"
        os.rename(gen, trash)
        shutil.rmtree(trash, ignore_errors=True)
    except OSError:
        pass  # cleanup is best effort: the new generation is already live
    finally:
        if fd is not None:
            os.close(fd)


def disk_full_error(index_dir: Path) -> KotaeError:
    return KotaeError(f"disk full while writing {index_dir}; the previous index is intact. "
                      "Free some space and ingest again")


def is_disk_full(e: BaseException, index_dir: Path) -> bool:
    """Whether writing a generation failed for want of space.

    Only OSError carries ENOSPC; the writers below it say so each their own way
    (all seen on a full tmpfs): SQLite raises OperationalError "database or disk is
    full", FAISS a RuntimeError ending "(No space left on device)", and numpy's
    np.save (bm25s's arrays) OSError("1920000 requested and 505824 written") with no errno.
    """
    if isinstance(e, OSError) and e.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    if isinstance(e, sqlite3.Error) and getattr(e, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL:
        return True
    if isinstance(e, RuntimeError) and ("No space left on device" in str(e) or "Disk quota" in str(e)):
        return True
    if isinstance(e, OSError) and e.errno is None:
        try:
            return shutil.disk_usage(index_dir).free < 1 << 20
        except OSError:
            return False
    return False
