"""A .csv or .jsonl file of rows, read again for every pass over its rows and refused once changed.

A run passes over its rows several times (the checks, the preflight, then each model's jobs while
the run goes on), and a rows file is read again, streaming, for each pass instead of being held. The
first read records the file's size, modification time and SHA-256; a pass over a file that differs
since raises `RowsChanged` rather than run rows that were never checked. A pass compares size and
time again after every block it reads, before the rows in it are used (a file touched or copied back
unchanged is hashed and goes on), and the hash at its end.
"""

from __future__ import annotations

import codecs
import csv
import errno
import hashlib
import json
import os
import stat
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from ..csv_cells import csv_reader
from ..errors import Problem, RowsChanged, SpecError

_READ_CHUNK = 1 << 16

Record = tuple[int, Any]  # a row as read, with its line number (.csv, .jsonl) or its index (lists)


class NotARegularFile(OSError):
    """The path is a FIFO, a device, a folder or a socket: not a file that can be read again to its end."""


def open_regular(path: Path) -> BinaryIO:
    """Open a file to read, refusing (NotARegularFile) anything that is not a regular file.

    The open does not block, so a FIFO with no writer is refused rather than waited on forever; a
    symlink is followed, so one to `/dev/zero` is refused rather than read until memory runs out.
    """
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            link = f" (it links to {path.resolve()})" if path.is_symlink() else ""
            raise NotARegularFile(errno.EINVAL, f"it is {_kind(mode)}{link}, not a regular file")
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def _kind(mode: int) -> str:
    kinds = (
        (stat.S_ISDIR, "a folder"),
        (stat.S_ISFIFO, "a FIFO (a named pipe)"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    )
    return next((text for test, text in kinds if test(mode)), "not a file")


def cannot_read(source: str, path: Path, error: OSError | UnicodeDecodeError | str) -> SpecError:
    """The error for a rows file that cannot be read (or decoded as UTF-8) when it is first read."""
    reason = error if isinstance(error, str) else getattr(error, "strerror", None) or str(error)
    if isinstance(error, NotARegularFile):
        reason += ": give the path of a file of rows"
    return SpecError.single(source, "inputs", f"cannot read the rows file {path}: {reason}")


@dataclass(frozen=True)
class _Version:
    """What a rows file looked like when it was checked."""

    size: int
    mtime_ns: int
    sha256: bytes


class RowFile:
    """A .csv or .jsonl file of rows, read again for every pass; a pass refuses a file that changed."""

    def __init__(self, path: Path, source: str) -> None:
        self.path = path
        self.name = path.name
        self.source = source
        self.is_csv = path.suffix.lower() == ".csv"
        self._version = self._first_read()

    def place(self, line: int) -> str:
        """A row's place in messages: `rows.csv line 7`."""
        return f"{self.name} line {line}"

    def records(self) -> Iterator[Record]:
        """One pass over the file as it was checked: every record with its line number."""
        try:
            with open_regular(self.path) as handle:
                self._check_unchanged(handle)
                digest = hashlib.sha256()
                lines = self._lines(handle, digest)
                if self.is_csv:
                    yield from _csv_records(lines, self.name, self.source)
                else:
                    yield from _jsonl_records(lines, self.name, self.source)
                if digest.digest() != self._version.sha256:
                    raise self._changed(_stat(handle), "its content differs")
        except (OSError, UnicodeDecodeError) as error:
            reason = getattr(error, "strerror", None) or str(error)
            raise self._changed(None, f"it cannot be read again: {reason}") from None

    def _first_read(self) -> _Version:
        """Size, time and hash of the file, checking it is UTF-8 text (an optional BOM) on the way."""
        try:
            with open_regular(self.path) as handle:
                size, mtime_ns = _stat(handle)
                digest = hashlib.sha256()
                offset = 0  # bytes after the BOM, for error positions as decoding the whole file gives them
                for number, block in enumerate(_blocks(handle)):
                    digest.update(block)
                    body = block.removeprefix(codecs.BOM_UTF8) if number == 0 else block
                    try:
                        body.decode("utf-8")
                    except UnicodeDecodeError as error:
                        raise cannot_read(self.source, self.path, _decode_error(error, offset)) from None
                    offset += len(body)
                if _stat(handle) != (size, mtime_ns):
                    raise cannot_read(self.source, self.path, "it changed while it was being read")
        except OSError as error:
            raise cannot_read(self.source, self.path, error) from None
        return _Version(size, mtime_ns, digest.digest())

    def _lines(self, handle: BinaryIO, digest: Any) -> Iterator[str]:
        """The text's lines, as reading it whole with universal newlines and `str.splitlines` gave them.

        So line numbers and cells stay what they were when rows files were read whole.
        """
        keepends = self.is_csv  # the csv module needs the line ends; JSON lines are parsed without them
        for number, block in enumerate(_blocks(handle)):
            self._check_unchanged(handle)  # after the block was read, before its rows are used
            digest.update(block)
            text = block.decode("utf-8-sig" if number == 0 else "utf-8")
            if "\r" in text:  # `\r\n` never spans two blocks: they end at `\n`
                text = text.replace("\r\n", "\n").replace("\r", "\n")
            yield from text.splitlines(keepends)

    def _check_unchanged(self, handle: BinaryIO) -> None:
        now = _stat(handle)
        version = self._version
        if now == (version.size, version.mtime_ns):
            return
        if _sha256(handle.fileno()) != version.sha256:
            raise self._changed(now, "its content differs")
        self._version = _Version(*now, version.sha256)  # touched or copied back: the same rows

    def _changed(self, now: tuple[int, int] | None, how: str) -> RowsChanged:
        was = self._version
        then = f"{was.size:,} bytes, modified {_clock(was.mtime_ns)}"
        since = f"; now {now[0]:,} bytes, modified {_clock(now[1])}" if now is not None else ""
        message = (
            f"{self.name} changed since the run first read it ({then}{since}): {how}. A run reads "
            "its rows file again for every model's jobs, so the file must stay as it is until the run ends"
        )
        return RowsChanged([Problem(self.source, "inputs", message)])


def _blocks(handle: BinaryIO) -> Iterator[bytes]:
    """The file's bytes in blocks of whole lines: each ends at a `\n`, where UTF-8 splits no character."""
    parts: list[bytes] = []
    while chunk := handle.read(_READ_CHUNK):
        end = chunk.rfind(b"\n") + 1
        if not end:  # a line longer than a chunk
            parts.append(chunk)
            continue
        yield b"".join([*parts, chunk[:end]])
        parts = [chunk[end:]]
    if any(parts):
        yield b"".join(parts)


def _stat(handle: BinaryIO) -> tuple[int, int]:
    stat = os.fstat(handle.fileno())
    return stat.st_size, stat.st_mtime_ns


def _sha256(fd: int) -> bytes:
    """The hash of an open file's bytes, read without moving its position."""
    digest = hashlib.sha256()
    offset = 0
    while chunk := os.pread(fd, _READ_CHUNK, offset):
        digest.update(chunk)
        offset += len(chunk)
    return digest.digest()


def _clock(mtime_ns: int) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(mtime_ns / 1e9))


def _decode_error(error: UnicodeDecodeError, offset: int) -> str:
    """`str(error)` with positions in the whole file rather than in the block decoded."""
    start, end = offset + error.start, offset + error.end
    if error.end - error.start == 1:
        what = f"byte 0x{error.object[error.start]:02x} in position {start}"
    else:
        what = f"bytes in position {start}-{end - 1}"
    return f"'{error.encoding}' codec can't decode {what}: {error.reason}"


def _csv_records(lines: Iterable[str], name: str, source: str) -> Iterator[Record]:
    records = _csv_cells(lines, name, source)
    header = [cell.strip() for cell in next(records, (0, []))[1]]
    twice = sorted({column for column in header if column and header.count(column) > 1})
    if twice:
        columns = ", ".join(f"`{column}`" for column in twice)
        raise SpecError.single(source, f"{name} header", f"{columns} given twice: keep one column each")
    for line, cells in records:
        place = f"{name} line {line}"  # for a message
        if len(cells) > len(header) and any(c.strip() for c in cells[len(header) :]):
            raise SpecError.single(
                source, place, "more cells than the header has columns: quote cells that hold commas"
            )
        # An empty cell means "not given", so one CSV can feed models with different inputs.
        record = {column: cell for column, cell in zip(header, cells) if cell != ""}
        if "" in record:
            raise SpecError.single(source, place, "a cell under a column with no name: name it in the header")
        if any(cell.strip() for cell in cells):  # a spreadsheet's trailing ",,," is not a row
            yield line, record


def _csv_cells(lines: Iterable[str], name: str, source: str) -> Iterator[tuple[int, list[str]]]:
    """Each CSV record's cells with the number of its last line; malformed CSV is a SpecError.

    Strict, so a quote never closed is an error rather than a cell that swallows the rest of the file.
    """
    reader = csv_reader(lines, strict=True)
    last_line = 0
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            if str(error) == "unexpected end of data":  # the file ended inside a quoted cell
                place = f"{name} line {last_line + 1}"
                message = (
                    "a quoted cell in this row is never closed: end it with a quote "
                    '(a quote inside a quoted cell is written twice: "")'
                )
            else:
                place = f"{name} line {reader.line_num}"
                message = f"not valid CSV: {error}"
                if "expected after" in str(error):
                    message += (
                        ": text follows a closing quote; quote the whole cell and write the quotes "
                        'inside it twice ("")'
                    )
            raise SpecError.single(source, place, message) from None
        last_line = reader.line_num
        yield last_line, cells


def _jsonl_records(lines: Iterable[str], name: str, source: str) -> Iterator[Record]:
    for number, line in enumerate(lines, start=1):
        if line.strip():
            try:
                yield number, json.loads(line)
            except json.JSONDecodeError as error:
                raise SpecError.single(
                    source, f"{name} line {number}, column {error.colno}", f"invalid JSON: {error.msg}"
                ) from None
            except (ValueError, RecursionError) as error:
                raise SpecError.single(source, f"{name} line {number}", json_beyond_limits(error)) from None


def json_beyond_limits(error: ValueError | RecursionError) -> str:
    """What is wrong with valid JSON that Python will not read: a huge number, or nesting past its stack."""
    if isinstance(error, RecursionError):
        return "the JSON is nested too deeply to read: flatten it"
    return "a number has more than 4,300 digits: put it in quotes to give it as text"
