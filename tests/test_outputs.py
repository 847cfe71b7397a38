"""Outputs: which parts are text, which are files, and what the files are called on disk."""

from __future__ import annotations

import pytest

from replicate_batch.outputs import file_name, file_names, split_output, tag_for


@pytest.mark.parametrize(
    ("output", "kind", "files", "text"),
    [
        ("hello", "text", [], "hello"),
        ("https://example.com/not-a-file", "text", [], "https://example.com/not-a-file"),
        (["a", " b", ""], "iterator", [], "a b"),
        ({"n": 1}, "json", [], '{"n": 1}'),
        (["https://x/1.png", "https://x/2.png"], "files", ["https://x/1.png", "https://x/2.png"], ""),
        ("data:image/png;base64,AAAA", "file", ["data:image/png;base64,AAAA"], ""),
        (
            {"caption": "c", "image": "http://h/i.png"},
            "json",
            ["http://h/i.png"],
            '{"caption": "c", "image": "L0"}',
        ),
        (None, "unknown", [], ""),
        (42, "unknown", [], "42"),
    ],
)
def test_split_output(output: object, kind: str, files: list[str], text: str) -> None:
    split = split_output(output, kind)  # type: ignore[arg-type]
    assert list(split.file_urls) == files
    assert split.text([f"L{i}" for i in range(len(files))]) == text


@pytest.mark.parametrize(
    ("url", "name"),
    [
        ("https://replicate.delivery/abc/out-0.webp", "out-0.webp"),
        ("https://h/a/..%2F..%2Fetc%2Fpasswd", "etc_passwd"),
        ("https://h/%2Fabsolute%2Fpath.png", "absolute_path.png"),
        ("https://h/..", "output-3"),
        ("https://h/.hidden", "hidden"),
        ("data:image/png;base64,AAAA", "output-3.png"),
        ("data:text/plain,hi", "output-3.txt"),
    ],
)
def test_file_names_are_safe(url: str, name: str) -> None:
    safe = file_name(url, 3)
    assert safe == name
    assert "/" not in safe and not safe.startswith(".")


def test_names_are_unique_and_tagged_where_jobs_share_a_row() -> None:
    tag = tag_for({"seed": 1}, repeat=1, repeats=2)
    assert tag == "seed-1_r1"
    assert file_names(("data:image/png;base64,A", "data:image/png;base64,B"), tag) == [
        "seed-1_r1_output-0.png",
        "seed-1_r1_output-1.png",
    ]
    assert file_names(("https://h/a/out.png", "https://h/b/out.png"), "") == ["0-out.png", "1-out.png"]
