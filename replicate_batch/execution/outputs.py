"""What a prediction returned, split into text for the CSV and files to download."""

from __future__ import annotations

import hashlib
import json
import mimetypes
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlparse

from ..schema import OutputKind
from ..values import is_link

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")

# Names under files/: each at most this long (a `.part` suffix still fits any file system's 255).
MAX_NAME_BYTES = 100
MAX_TAG_BYTES = 60  # a tag leaves at least 39 bytes of a file's name for the name the model gave it
HASH_CHARS = 12
# Plain names are used as they are. Lower case only, so a disk that ignores case (macOS, Windows)
# never merges two names; not hidden, no leading `-`, no trailing `.`, none Windows refuses.
_PLAIN_NAME = re.compile(r"[a-z0-9]([a-z0-9._-]*[a-z0-9_-])?")
_WINDOWS_DEVICE = re.compile(r"(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?")
_PLAIN_WORD = re.compile(r"[a-z][a-z0-9.-]*")  # a matrix string shown as is: no `_`, not number-like
_PLAIN_FLOAT = re.compile(r"-?[0-9]+\.[0-9]+")


@dataclass(frozen=True)
class SplitOutput:
    """Output text (with file URLs replaced by `{file:N}` markers) and the file URLs in order."""

    template: Any  # the output with every file URL replaced by its index marker
    file_urls: tuple[str, ...]
    kind: OutputKind

    @property
    def is_json(self) -> bool:
        """Whether the `output` column is a JSON value's text (not text, streamed text or files only)."""
        template = self.template
        if template is None or isinstance(template, str) or _only_files(template):
            return False
        return not (self.kind == "iterator" and isinstance(template, list))

    def text(self, local_paths: list[str]) -> str:
        """The `output` column: text as is, iterator chunks joined, other values as JSON."""
        if self.template is None:
            return ""
        if self.kind == "iterator" and isinstance(self.template, list):
            return "".join(str(chunk) for chunk in self.template if chunk is not None)
        if _only_files(self.template):
            return ""
        value = _fill(self.template, local_paths)
        if isinstance(value, str):
            return value
        return json.dumps(value, ensure_ascii=False)


class _FileMarker(int):
    """Index of a file URL inside an output template."""


def _only_files(template: Any) -> bool:
    if isinstance(template, _FileMarker):
        return True
    return isinstance(template, list) and bool(template) and all(isinstance(x, _FileMarker) for x in template)


def _fill(template: Any, local_paths: list[str]) -> Any:
    if isinstance(template, _FileMarker):
        return local_paths[template] if template < len(local_paths) else None
    if isinstance(template, list):
        return [_fill(x, local_paths) for x in template]
    if isinstance(template, dict):
        return {k: _fill(v, local_paths) for k, v in template.items()}
    return template


def split_output(output: Any, kind: OutputKind) -> SplitOutput:
    """Find the file URLs in an output, guided by the model's output schema."""
    urls: list[str] = []

    def walk(value: Any, files_expected: bool) -> Any:
        if isinstance(value, str) and is_link(value) and files_expected:
            urls.append(value)
            return _FileMarker(len(urls) - 1)
        if isinstance(value, list):
            return [walk(x, files_expected) for x in value]
        if isinstance(value, dict):
            return {str(k): walk(v, files_expected) for k, v in value.items()}
        return value

    # A schema saying "text" means a URL-looking answer is still text; without one, guess files.
    files_expected = kind not in ("text", "iterator")
    return SplitOutput(template=walk(output, files_expected), file_urls=tuple(urls), kind=kind)


def file_name(url: str, index: int) -> str:
    """A safe file name for an output URL: no directories, no `..`, no odd characters."""
    if url.startswith("data:"):
        mime = url[5:].split(";", 1)[0].split(",", 1)[0] or "application/octet-stream"
        extension = ".txt" if mime == "text/plain" else mimetypes.guess_extension(mime) or ".bin"
        return f"output-{index}{extension}"
    base = unquote(urlparse(url).path.rsplit("/", 1)[-1])
    safe = _UNSAFE.sub("_", base).lstrip("._")
    return _fit(safe, MAX_NAME_BYTES) or f"output-{index}"


def path_part(text: str) -> str:
    """The folder name for a model name or row id under files/: distinct texts, distinct names.

    A plain text (lower-case letters, digits, `.`, `_`, `-`; short) is its own name, so row `fridge`
    stays `fridge`. Any other text becomes a readable cut of itself, `~` and a hash of the whole
    text (`a/b` -> `a_b~<12 hex>`); no plain name contains `~`, so no two texts share a name.
    """
    if len(text) <= MAX_NAME_BYTES and _PLAIN_NAME.fullmatch(text) and not _WINDOWS_DEVICE.fullmatch(text):
        return text
    return _hashed(text, text, MAX_NAME_BYTES)


def _hashed(readable: str, identity: str, max_bytes: int) -> str:
    """`readable` made safe and cut, then `~` and a hash of `identity`: at most `max_bytes` long."""
    digest = hashlib.sha256(identity.encode("utf-8", "surrogatepass")).hexdigest()[:HASH_CHARS]
    safe = _UNSAFE.sub("_", readable).strip("._-")[: max_bytes - HASH_CHARS - 1] or "_"
    return f"{safe}~{digest}"


def _fit(name: str, max_bytes: int) -> str:
    """An ASCII file name cut to `max_bytes` from the end of its stem, keeping a short extension."""
    if len(name) <= max_bytes:
        return name
    stem, dot, extension = name.rpartition(".")
    if dot and stem and len(extension) < max_bytes // 2:
        return f"{stem[: max_bytes - len(extension) - 1]}.{extension}"
    return name[:max_bytes]


def _plain_value(value: Any) -> str | None:
    """How a matrix value reads in a tag, if that text can stand for no other value; else None."""
    if value is None or isinstance(value, bool):
        return json.dumps(value)  # null, true, false: words a plain string may not be
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        text = repr(value)
        return text if _PLAIN_FLOAT.fullmatch(text) else None
    if isinstance(value, str) and _PLAIN_WORD.fullmatch(value) and value not in ("null", "true", "false"):
        return value
    return None


def tag_for(matrix: dict[str, Any], repeat: int, repeats: int) -> str:
    """A file-name prefix naming the matrix values and repeat, where several jobs share a row.

    `seed-1_r2` where every value reads plainly; otherwise a readable cut, `~` and a hash of the
    values, so jobs of one row never share a file name. Every job of a model has the same matrix
    keys, so plain values (which hold no `_`) are never ambiguous.
    """
    plain = [_plain_value(value) for value in matrix.values()]
    texts = [text if text is not None else str(value) for text, value in zip(plain, matrix.values())]
    keys = [_UNSAFE.sub("_", str(key)).strip("._-") or "key" for key in matrix]  # never a hidden file
    parts = [f"{key}-{text}" for key, text in zip(keys, texts)]
    if repeats > 1:
        parts.append(f"r{repeat}")
    tag = "_".join(parts)
    if None not in plain and len(tag) <= MAX_TAG_BYTES:
        return tag
    identity = json.dumps([[k, type(v).__name__, v] for k, v in matrix.items()], default=str)
    return _hashed(tag, f"{identity}|{repeat}", MAX_TAG_BYTES)


def file_names(urls: tuple[str, ...], tag: str) -> list[str]:
    """Unique, safe names for one prediction's output files, in output order, none too long."""
    room = MAX_NAME_BYTES - (len(tag) + 1 if tag else 0)
    names = [_fit(file_name(url, i), room) for i, url in enumerate(urls)]
    if len(set(names)) != len(names):
        names = [_fit(f"{i}-{name}", room) for i, name in enumerate(names)]
    return [f"{tag}_{name}" if tag else name for name in names]
