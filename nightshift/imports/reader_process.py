"""Reading an .xlsx worksheet in a child process, so that the import converts and checks rows
on one core while the next rows are inflated and parsed on another.

An import is pure Python and Python runs one thread at a time: reading a worksheet (zip
inflate and regular expressions, about as long as converting and checking its rows) and the
rest of the import took turns on one core. Here a child process reads it and sends its rows,
blank rows left out, in pickled chunks through a pipe; the import only unpickles them.

- The child is a fresh interpreter started with ``python -m`` (never a fork of the Django
  process, its threads and its database connections) that imports ``xlsx`` and the standard
  library only: it starts in a few tens of milliseconds.
- The pipe holds the child back: it blocks on a full pipe, so it is at most a few chunks
  ahead of the import however long the worksheet.
- An error in the child reaches the import as the same exception (the child's traceback as
  a note), so a damaged file is reported exactly as when it is read in-process.
- A reader closed or dropped before the end (the header read, a stopped or resumed run)
  terminates and reaps its child at once; the child also stops by itself when the pipe's
  other end closes (the import's process died).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import pickle
import signal
import subprocess
import sys
import traceback
import weakref
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from nightshift.imports import xlsx

__all__ = ["CHUNK_ROWS", "ReaderStopped", "iter_chunks"]

CHUNK_ROWS = 2_000  # rows a message: unpickling costs ~3 µs a row at 2,000, ~6 µs at 1,000
STOP_TIMEOUT = 5  # seconds a terminated child gets before it is killed
# The pipe's buffer (Linux; the kernel's default is 64 KB): a chunk (~250 KB) goes through in
# one write and one read rather than a wake-up of each process per 64 KB, which a busy machine
# makes slow; the child is held back once it is a megabyte, about four chunks, ahead.
PIPE_BYTES = 1 << 20
# The directory that holds the ``nightshift`` package, for the child's import path (the
# project may run from a checkout that is not installed).
_PACKAGE_ROOT = str(Path(__file__).resolve().parent.parent.parent)

Row = tuple[int, list[Any]]


class ReaderStopped(RuntimeError):
    """The child ended without saying why (killed, out of memory): not the file's fault."""


def iter_chunks(
    path: str, sheet: str, *, size: int = CHUNK_ROWS, skip: int = 0
) -> Iterator[list[Row]]:
    """The non-blank rows of ``sheet`` as ``xlsx.iter_rows`` gives them, the first ``skip``
    left out, in lists of up to ``size``, read by a child process started at the first
    ``next()``. Raises what reading in-process would raise, or ``ReaderStopped``."""
    reader = _Reader(path, sheet, size, skip)
    try:
        while (chunk := reader.receive()) is not None:
            yield chunk
    finally:
        reader.close()


class _Reader:
    """The parent's end: the child process and the pipe its rows come through."""

    def __init__(self, path: str, sheet: str, size: int, skip: int) -> None:
        read_end, write_end = os.pipe()
        try:
            if hasattr(fcntl, "F_SETPIPE_SZ"):
                with contextlib.suppress(OSError):  # over the system's limit: the default
                    fcntl.fcntl(write_end, fcntl.F_SETPIPE_SZ, PIPE_BYTES)
            environment = dict(os.environ)
            environment["PYTHONPATH"] = os.pathsep.join(
                filter(None, [_PACKAGE_ROOT, environment.get("PYTHONPATH")])
            )
            self.process = subprocess.Popen(  # noqa: S603 — our interpreter and module
                # -S: no site-packages to set up (their .pth files take ~30 ms): the
                # standard library and PYTHONPATH are all the child needs; -P: not the
                # working directory's packages either.
                [
                    sys.executable,
                    "-S",
                    "-P",
                    "-m",
                    __name__,
                    str(path),
                    sheet,
                    str(size),
                    str(skip),
                    str(write_end),
                ],
                stdin=subprocess.DEVNULL,
                pass_fds=(write_end,),
                env=environment,
            )
        except BaseException:
            os.close(read_end)
            raise
        finally:
            os.close(write_end)  # the child's now: the pipe ends when the child does
        self.stream = open(read_end, "rb")  # noqa: SIM115 — closed by close() or the finalizer
        # Run by close(), or when the reader is garbage-collected, or at exit.
        self._stop = weakref.finalize(self, _stop, self.process, self.stream)

    def receive(self) -> list[Row] | None:
        """The next chunk; None at the end of the worksheet."""
        try:
            kind, payload = pickle.load(self.stream)  # noqa: S301 — our own child's pickles
        except (EOFError, pickle.UnpicklingError, ValueError):
            code = self.process.wait()
            raise ReaderStopped(f"the worksheet reader process ended (exit code {code})") from None
        if kind == "rows":
            return payload
        # The last message: the child exits by itself.
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(STOP_TIMEOUT)
        self.close()
        if kind == "error":
            raise payload
        return None

    def close(self) -> None:
        self._stop()


def _stop(process: subprocess.Popen[bytes], stream) -> None:
    stream.close()  # a child blocked on a full pipe gets EPIPE and ends
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# -- the child ---------------------------------------------------------------------------------


def _send(fd: int, message: tuple[str, Any]) -> None:
    data = memoryview(pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL))
    while data:
        data = data[os.write(fd, data) :]


def _read(path: str, sheet: str, size: int, skip: int, fd: int) -> None:
    chunk: list[Row] = []
    for number, cells in xlsx.iter_rows(path, sheet):
        if not xlsx.blank(cells):
            if skip:
                skip -= 1
                continue
            chunk.append((number, cells))
            if len(chunk) == size:
                _send(fd, ("rows", chunk))
                chunk = []
    if chunk:
        _send(fd, ("rows", chunk))
    _send(fd, ("end", None))


def _error(exc: Exception) -> Exception:
    """``exc`` ready to be pickled, with the child's traceback as a note."""
    exc.add_note("In the worksheet reader process:\n" + "".join(traceback.format_exception(exc)))
    try:
        pickle.loads(pickle.dumps(exc))  # noqa: S301 — a round trip of our own object
    except Exception:  # an exception that cannot travel: its type and message do
        return RuntimeError(f"{type(exc).__module__}.{type(exc).__qualname__}: {exc}")
    return exc


def main(argv: list[str]) -> None:
    """``python -m nightshift.imports.reader_process PATH SHEET SIZE SKIP FD``: read, send,
    exit."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the import's to handle
    path, sheet, size, skip, fd = argv[1], argv[2], int(argv[3]), int(argv[4]), int(argv[5])
    try:
        _read(path, sheet, size, skip, fd)
    except BrokenPipeError:  # the import stopped reading
        return
    except Exception as exc:
        try:
            _send(fd, ("error", _error(exc)))
        except BrokenPipeError:
            return


if __name__ == "__main__":
    main(sys.argv)
