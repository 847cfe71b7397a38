"""compare.html and history.html of real scored runs, opened in a real headless Chromium.

Two runs of a spec against the Replicate emulator: a painter that returns real PNGs and `acme/echo`;
a python scorer gives 1 when the prompt names a cat, and B asks for dogs, so every job flips to worse.
Row ids, prompts (hence outputs), notes, group values and the folder the runs live in carry markup
and script that must show as text and never run. The pages must load nothing from the network.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page

from replicate_batch.cli import main
from tests.browser import opened_page
from tests.emulated import emulated
from tests.emulator_models import prop
from tests.replicate_emulator import ModelDef, PredictContext
from tests.sample_runs import solid_png
from tests.scored_runs import run_scored

HOSTILE_ID = '<img src=x onerror="window.__pwned=1">'
SCRIPT = "<script>window.__pwned=2</script>"
GROUP = "<b id=injected-group>g</b>"
NOTE = "note <b id=injected-note>n</b>"
ROWS = [HOSTILE_ID, *(f"r{i}" for i in range(7))]
SCORER = f"def cat(input):\n    return (1 if 'cat' in input['prompt'] else 0, {NOTE!r})\n"


def _painter(inputs: dict[str, Any], ctx: PredictContext) -> list[str]:
    shade = 40 if "cat" in inputs["prompt"] else 200
    return [
        ctx.file(solid_png(40, 30, (shade, 90, 160)), f"out-{i}.png") for i in range(inputs["num_outputs"])
    ]


PAINTER = ModelDef(
    owner="acme",
    name="painter",
    input_schema={
        "required": ["prompt"],
        "properties": {
            "prompt": prop("prompt", 0, "string", "What to paint"),
            "num_outputs": prop("num_outputs", 1, "integer", "Images", default=1, minimum=1),
        },
    },
    output_schema={"type": "array", "items": {"type": "string", "format": "uri"}},
    predict=_painter,
    duration_s=0.1,
)


def spec(animal: str) -> dict[str, Any]:
    rows = [
        {"id": row_id, "prompt": f"a {animal} {SCRIPT}", "_cat": GROUP if i % 2 else "plain"}
        for i, row_id in enumerate(ROWS)
    ]
    return {
        "name": "pets",
        "models": [{"ref": "acme/painter", "input": {"num_outputs": 1}}, "acme/echo"],
        "inputs": rows,
        "scorers": [{"python": "scorers.py:cat", "name": "cat"}],
        "group_by": ["_cat"],
    }


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path]]:
    """compare.html (A: cats, B: dogs) and history.html of the folder both runs are in."""
    base = tmp_path_factory.mktemp("pages")
    (base / "scorers.py").write_text(SCORER, encoding="utf-8")
    root = base / "<b id=injected-root>runs</b>"
    with emulated(PAINTER):
        run_a = run_scored(spec("cat"), base, root, double=False)
        run_b = run_scored(spec("dog"), base, root, double=False)
    assert main(["compare", str(run_a), str(run_b)]) == 1
    assert main(["history", str(root)]) == 0
    yield run_b / "compare.html", root / "history.html"


def open_page(browser: Browser, path: Path) -> Iterator[tuple[Page, list[str]]]:
    yield from opened_page(browser, path, width=1400, height=2000)


@pytest.fixture
def compare_page(browser: Browser, pages: tuple[Path, Path]) -> Iterator[tuple[Page, list[str]]]:
    yield from open_page(browser, pages[0])


@pytest.fixture
def history_page(browser: Browser, pages: tuple[Path, Path]) -> Iterator[tuple[Page, list[str]]]:
    yield from open_page(browser, pages[1])


def cells(page: Page, selector: str) -> list[list[str]]:
    return page.locator(f"{selector} tbody tr").evaluate_all(
        "rows => rows.map(r => [...r.cells].map(c => c.textContent))"
    )


def assert_nothing_ran_or_loaded(page: Page, requests: list[str]) -> None:
    assert page.evaluate("() => window.__pwned") is None
    for injected in ("injected-group", "injected-note", "injected-root"):
        assert page.locator(f"#{injected}").count() == 0
    assert requests and all(url.startswith(("file://", "data:")) for url in requests), requests


def test_compare_page_shows_the_score_tables(compare_page: tuple[Page, list[str]]) -> None:
    page, requests = compare_page
    scores = cells(page, "table.scores")
    # 8 rows flip 1 -> 0 for each model: McNemar p = 2/2^8, Holm over the two pairs doubles it
    assert [row[:2] + row[4:7] + row[8:] for row in scores] == [
        ["painter", "cat", "1.00", "0.00", "-1.00", "0.008", "0.016", "mcnemar", "worse"],
        ["echo", "cat", "1.00", "0.00", "-1.00", "0.008", "0.016", "mcnemar", "worse"],
    ]
    assert (
        page.locator("table.scores tr.worse td:last-child").first.evaluate("c => getComputedStyle(c).color")
        == "rgb(207, 34, 46)"
    )
    groups = cells(page, "table.groups")
    assert sorted(row[0] for row in groups) == sorted([f"_cat={GROUP}", "_cat=plain"] * 2)  # shown as text
    assert_nothing_ran_or_loaded(page, requests)


def test_compare_page_shows_flipped_jobs_with_both_outputs(compare_page: tuple[Page, list[str]]) -> None:
    page, requests = compare_page
    worse = page.locator("section.flips").filter(has_text="Flipped to worse (16)").locator(".flip")
    assert worse.count() == 16
    assert page.get_by_text("Flipped to better (0)").count() == 1
    labels = worse.locator(".label").all_text_contents()
    assert f"painter · {HOSTILE_ID}" in labels and f"echo · {HOSTILE_ID}" in labels
    painter = worse.filter(has_text=f"painter · {HOSTILE_ID}")
    painter.scroll_into_view_if_needed()  # thumbnails load lazily
    page.wait_for_function(
        "e => [...e.querySelectorAll('img')].every(i => i.complete && i.naturalWidth)",
        arg=painter.element_handle(),
    )
    images = painter.locator("img.thumb").evaluate_all(
        "imgs => imgs.map(i => [i.alt, i.naturalWidth, i.getAttribute('src')])"
    )
    assert [(alt, width) for alt, width, _ in images] == [("A", 40), ("B", 40)]
    assert images[0][2] != images[1][2]  # each run's own file
    echo = worse.filter(has_text=f"echo · {HOSTILE_ID}")
    assert echo.locator("figcaption").all_text_contents() == ["A: 1", "B: 0"]
    assert echo.locator("pre.out").all_text_contents() == [f"a cat {SCRIPT}", f"a dog {SCRIPT}"]
    assert echo.locator(".note").all_text_contents() == [NOTE, NOTE]
    assert_nothing_ran_or_loaded(page, requests)


def test_history_page_draws_a_chart_per_scorer(history_page: tuple[Page, list[str]]) -> None:
    page, requests = history_page
    assert page.locator("section.spec h2").all_text_contents() == ["pets"]
    charts = page.locator(".chart svg")
    assert charts.count() == 1
    assert charts.locator("g.series").evaluate_all("gs => gs.map(g => g.dataset.model)") == [
        "painter",
        "echo",
    ]
    assert charts.locator("path.band").count() == 2 and charts.locator("path.line").count() == 2
    assert charts.locator("circle.significant").count() == 2  # run B, for both models
    box = charts.bounding_box()
    assert box is not None and box["width"] > 300 and box["height"] > 200  # drawn, not collapsed
    runs = cells(page, "table.runs")
    assert len(runs) == 2 and all(row[0].startswith("pets-") for row in runs)
    history = cells(page, "table.history")
    assert [row[1:] for row in history] == [["1.00 [1.00, 1.00]"] * 2, ["0.00 [0.00, 0.00] ▼"] * 2]
    assert page.locator("table.history td.worse").count() == 2
    groups = cells(page, "table.groups")
    assert sorted({row[1] for row in groups}) == sorted([GROUP, "plain"])
    assert "<b id=injected-root>runs</b>" in page.locator("header .meta-line").inner_text()
    assert_nothing_ran_or_loaded(page, requests)
