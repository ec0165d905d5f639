"""Files named by untrusted paths: read a regular file under a root without following symbolic links, and
replace a file atomically, refusing when it changed since it was read.

FileSafetyError            a file that may not be read or written as asked; the message names the file
├── UnsafePathError        outside the root, through a symbolic link, not a regular file, or too large
└── FileChangedError       changed on disk since it was read: left as it is

A path kept where others can write (a database row shared by several users) is checked with `contained`
before use; a path given on the command line with `relative_under`. Reads go through `read_under`, which
opens each folder below the root and then the file itself with O_NOFOLLOW, so no link is followed at any
step, and returns a `FileStamp` (device, inode, size, mtime) that `write_atomic` compares before it
replaces the file.
"""

from __future__ import annotations

import errno
import os
import secrets
import stat
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from safeio.errors import InputError

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC
_NOFOLLOW_DIR_FLAGS = _DIR_FLAGS | os.O_NOFOLLOW
# O_NONBLOCK: opening a FIFO for reading does not wait for a writer; fstat then shows it is not a regular file.
_READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
_TEMP_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


class FileSafetyError(InputError):
    """A file may not be read or written as asked; the message names the file and what was expected."""


class UnsafePathError(FileSafetyError):
    """The path leaves its root, passes through a symbolic link, is no regular file, or the file is too large."""


class FileChangedError(FileSafetyError):
    """The file changed on disk between the read and the write; it was not overwritten."""


@dataclass(frozen=True)
class FileStamp:
    """What a file looked like when it was read; a different stamp means someone else wrote or replaced it."""

    device: int
    inode: int
    size: int
    mtime_ns: int

    @classmethod
    def of(cls, status: os.stat_result) -> FileStamp:
        return cls(status.st_dev, status.st_ino, status.st_size, status.st_mtime_ns)


def relative_under(root: Path, path: Path) -> PurePosixPath:
    """`path` (absolute, or relative to the working directory) as a path relative to `root`.

    Folders on the way are resolved (a linked folder counts where it points); the last component is kept as
    written, so a link there is refused when the file is opened. Raises UnsafePathError when outside `root`."""
    real_root = root.resolve()
    full = Path(os.path.abspath(path))
    try:
        relative = (full.parent.resolve() / full.name).relative_to(real_root)
    except ValueError:
        raise UnsafePathError(f"{path}: outside {root}") from None
    if not relative.parts:
        raise UnsafePathError(f"{path}: is the folder {root} itself, not a file under it")
    return PurePosixPath(*relative.parts)


def contained(root: Path, stored: str) -> PurePosixPath:
    """A stored path as a path relative to `root`: relative, or absolute and lexically under `root`, never with
    a `..` component. Raises UnsafePathError for anything else."""
    path = PurePosixPath(stored)
    if not stored or "\x00" in stored or ".." in path.parts:
        raise UnsafePathError(f"{stored!r}: not a path under {root} (empty, or with a '..' component)")
    if path.is_absolute():
        for base in dict.fromkeys((Path(os.path.abspath(root)), root.resolve())):
            if path.is_relative_to(base.as_posix()):
                path = path.relative_to(base.as_posix())
                break
        else:
            raise UnsafePathError(f"{stored}: outside {root}")
    if not path.parts:
        raise UnsafePathError(f"{stored!r}: is the folder {root} itself, not a file under it")
    return path


def read_under(root: Path, relative: PurePosixPath, *, limit: int) -> tuple[bytes, FileStamp]:
    """The bytes of `root/relative` and its stamp. Every folder below `root` and the file itself are opened
    without following symbolic links; the file must be a regular file of at most `limit` bytes."""
    shown = root / relative
    if relative.is_absolute() or ".." in relative.parts or not relative.parts:
        raise UnsafePathError(f"{shown}: not a path under {root}")
    try:
        dir_fd = os.open(root, _DIR_FLAGS)
    except OSError as exc:
        raise UnsafePathError(f"{root}: cannot open the folder: {exc.strerror}") from None
    try:
        for part in relative.parts[:-1]:
            try:
                inner = os.open(part, _NOFOLLOW_DIR_FLAGS, dir_fd=dir_fd)
            except OSError as exc:
                raise _open_error(shown, part, exc, dir_fd) from None
            os.close(dir_fd)
            dir_fd = inner
        try:
            fd = os.open(relative.name, _READ_FLAGS, dir_fd=dir_fd)
        except OSError as exc:
            raise _open_error(shown, relative.name, exc, dir_fd) from None
    finally:
        os.close(dir_fd)
    status = os.fstat(fd)
    if not stat.S_ISREG(status.st_mode):
        os.close(fd)
        raise UnsafePathError(f"{shown}: not a regular file (a folder, device, socket or FIFO)")
    with os.fdopen(fd, "rb") as handle:
        if status.st_size > limit:
            raise UnsafePathError(f"{shown}: {status.st_size} bytes, more than the limit of {limit} bytes")
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise UnsafePathError(f"{shown}: grew past the limit of {limit} bytes while it was read")
    return data, FileStamp.of(status)


def read_regular(path: Path, *, limit: int) -> tuple[bytes, FileStamp]:
    """`read_under(path.parent, path.name)`: a regular file, the last component not a symbolic link."""
    return read_under(path.parent, PurePosixPath(path.name), limit=limit)


def write_atomic(path: Path, text: str | bytes, *, expect: FileStamp | None = None, mode: int | None = None) -> None:
    """Replace `path` with `text` (UTF-8 when a str, bytes as given) so readers see the old or the new file.

    The new content goes to a temporary file created with O_EXCL in the same folder, gets its permissions on
    the open descriptor (`mode`, else the replaced file's, else 0o666 less the umask; setuid, setgid and
    sticky bits are never set), is flushed to disk, then renamed over `path`. With `expect`, the write is
    refused (FileChangedError) when the file on disk no longer has that stamp. A symbolic link, folder or
    device at `path` is refused, never written through or replaced."""
    data = text.encode("utf-8") if isinstance(text, str) else text
    dir_fd = os.open(path.parent, _DIR_FLAGS)
    try:
        current = _lstat(path.name, dir_fd)
        if current is not None and not stat.S_ISREG(current.st_mode):
            raise UnsafePathError(f"{path}: not a regular file (a symbolic link, folder or device); not overwritten")
        _check_unchanged(path, expect, current)
        wanted = mode if mode is not None else current.st_mode if current is not None else None
        temp = f".{path.name}.{secrets.token_hex(6)}.tmp"
        fd = os.open(temp, _TEMP_FLAGS, 0o600 if wanted is not None else 0o666, dir_fd=dir_fd)
        try:
            with os.fdopen(fd, "wb") as handle:
                if wanted is not None:
                    os.fchmod(handle.fileno(), wanted & 0o777)
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            _check_unchanged(path, expect, _lstat(path.name, dir_fd))
            os.replace(temp, path.name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
        except BaseException:
            with suppress(FileNotFoundError):
                os.unlink(temp, dir_fd=dir_fd)
            raise
        with suppress(OSError):  # some file systems cannot sync a folder; the rename itself is done
            os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def _lstat(name: str, dir_fd: int) -> os.stat_result | None:
    try:
        return os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return None


def _check_unchanged(path: Path, expect: FileStamp | None, current: os.stat_result | None) -> None:
    if expect is None:
        return
    if current is None:
        raise FileChangedError(f"{path}: was removed since it was read; not written")
    now = FileStamp.of(current)
    if now != expect:
        what = "replaced" if (now.device, now.inode) != (expect.device, expect.inode) else "modified"
        raise FileChangedError(f"{path}: {what} on disk since it was read; not overwritten (run the command again)")


def _open_error(shown: Path, part: str, exc: OSError, dir_fd: int) -> UnsafePathError:
    # Linux answers ELOOP for a link opened with O_NOFOLLOW, but ENOTDIR when O_DIRECTORY is asked too.
    status = _lstat(part, dir_fd) if exc.errno in (errno.ELOOP, errno.ENOTDIR) else None
    if exc.errno == errno.ELOOP or (status is not None and stat.S_ISLNK(status.st_mode)):
        return UnsafePathError(f"{shown}: {part!r} is a symbolic link; links are not followed")
    if exc.errno == errno.ENOENT:
        return UnsafePathError(f"{shown}: no such file")
    if exc.errno == errno.ENOTDIR:
        return UnsafePathError(f"{shown}: {part!r} is not a folder")
    return UnsafePathError(f"{shown}: cannot open: {exc.strerror}")
