"""Outputs: which parts are text, which are files, and what the files are called on disk."""

from __future__ import annotations

import itertools
import re

import pytest

from replicate_batch.execution.outputs import (
    MAX_NAME_BYTES,
    file_name,
    file_names,
    path_part,
    split_output,
    tag_for,
)


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


# Row ids and model names that a naive sanitiser maps to one folder, or that are too long for one.
TRICKY_IDS = [
    "a/b", "a_b", "a:b", "a b", "a\\b", "a~b", "a_b~0123456789ab", "..", "...", ".", "", "-", "_",
    ".hidden", "-rf", "a.", "con", "CON", "nul.txt", "lpt1", "Fridge", "fridge", "FRIDGE", "café", "cafe",
    "caf_", "日本", "\ud800", "\n", "a\nb", "x" * 100, "x" * 101, "x" * 300, "x" * 300 + "y", "é" * 60,
]  # fmt: skip


def test_row_ids_and_model_names_get_distinct_bounded_safe_folders() -> None:
    parts = [path_part(text) for text in TRICKY_IDS]
    # Distinct even on a disk that ignores case (macOS, Windows).
    assert len({part.lower() for part in parts}) == len(TRICKY_IDS)
    for text, part in zip(TRICKY_IDS, parts):
        assert re.fullmatch(r"[A-Za-z0-9._~-]+", part), (text, part)
        assert len(part.encode()) <= MAX_NAME_BYTES, text
        assert part not in (".", "..") and not part.startswith((".", "-")) and not part.endswith("."), text
        assert path_part(text) == part  # stable: the same text, the same folder


@pytest.mark.parametrize("text", ["fridge", "row-1", "1", "42", "a.b_c-d", "x" * 100])
def test_a_plain_id_is_its_own_folder(text: str) -> None:
    assert path_part(text) == text


@pytest.mark.parametrize(
    ("text", "readable"),
    [("a/b", "a_b"), ("Fridge", "Fridge"), ("..", "_"), ("x" * 300, "x" * 87), ("con", "con")],
)
def test_other_ids_read_as_themselves_then_a_hash(text: str, readable: str) -> None:
    assert re.fullmatch(rf"{readable}~[0-9a-f]{{12}}", path_part(text))


# Matrix values of one key that a naive tag would write alike, with a second key whose values hold `_`.
TRICKY_VALUES: list[object] = [
    1, "1", 1.0, "1.0", -1, "-1", 0.5, True, "true", None, "null", "a/b", "a:b", "a_b", "a-b", "A-b",
    "a b", "1_b-2", "x" * 320 + "1", "x" * 320 + "2", [1], "[1]", 1e-05, "1e-05",
]  # fmt: skip
URL_SETS = [
    ("https://h/out-0.png",),
    ("https://h/b_out-0.png",),  # a tag `k-a` with this name must not equal tag `k-a_b` with `out-0.png`
    ("https://h/seed-2_out-0.png",),
    ("https://h/x/out.png", "https://h/y/out.png"),
    (f"https://h/{'n' * 200}.png",),
    ("data:image/png;base64,AA", "data:image/png;base64,AB"),
]


@pytest.mark.parametrize("repeats", [1, 3])
def test_jobs_of_one_row_never_share_a_file_name(repeats: int) -> None:
    owner: dict[str, tuple[object, ...]] = {}
    for value, other, repeat in itertools.product(TRICKY_VALUES, ["p", "q_r-2"], range(repeats)):
        matrix = {"prompt": value, "extra_key": other}
        tag = tag_for(matrix, repeat, repeats)
        assert len(tag) <= 60 and "/" not in tag
        for urls in URL_SETS:
            names = file_names(urls, tag)
            assert len(names) == len(urls)
            for name in names:
                assert re.fullmatch(r"[A-Za-z0-9._~-]+", name) and len(name.encode()) + 5 <= 255, name
                assert len(name.encode()) <= MAX_NAME_BYTES, name
                job = (type(value).__name__, repr(value), other, repeat)
                assert owner.setdefault(name.lower(), job) == job, (
                    f"{name} written by {owner[name.lower()]} and {job}"
                )


def test_plain_matrix_values_read_as_they_are() -> None:
    assert (
        tag_for({"seed": 1, "num_inference_steps": 4}, repeat=0, repeats=1) == "seed-1_num_inference_steps-4"
    )
    assert (
        tag_for({"guidance": 3.5, "style": "ink-wash"}, repeat=2, repeats=3)
        == "guidance-3.5_style-ink-wash_r2"
    )
    assert re.fullmatch(r"prompt-a_cat_on_a_mat~[0-9a-f]{12}", tag_for({"prompt": "a cat on a mat"}, 0, 1))
    assert tag_for({".hidden key": 2}, 0, 1) == "hidden_key-2"
    assert tag_for({}, 0, 1) == ""
