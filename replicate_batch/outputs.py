"""What a prediction returned, split into text for the CSV and files to download."""

from __future__ import annotations

import json
import mimetypes
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlparse

from .schema import OutputKind

FILE_PREFIXES = ("https://", "http://", "data:")
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class SplitOutput:
    """Output text (with file URLs replaced by `{file:N}` markers) and the file URLs in order."""

    template: Any  # the output with every file URL replaced by its index marker
    file_urls: tuple[str, ...]
    kind: OutputKind

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
        if isinstance(value, str) and value.startswith(FILE_PREFIXES) and files_expected:
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
    safe = _UNSAFE.sub("_", base).lstrip("._")[-120:]
    return safe or f"output-{index}"


def tag_for(matrix: dict[str, Any], repeat: int, repeats: int) -> str:
    """A file-name prefix naming the matrix values and repeat, where several jobs share a row."""
    parts = [f"{k}-{v}" for k, v in matrix.items()]
    if repeats > 1:
        parts.append(f"r{repeat}")
    return _UNSAFE.sub("_", "_".join(parts)).strip("._")


def file_names(urls: tuple[str, ...], tag: str) -> list[str]:
    """Unique, safe names for one prediction's output files, in output order."""
    names = [file_name(url, i) for i, url in enumerate(urls)]
    if len(set(names)) != len(names):
        names = [f"{i}-{name}" for i, name in enumerate(names)]
    return [f"{tag}_{name}" if tag else name for name in names]
