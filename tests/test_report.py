"""`report.html` of a real run, opened in a real headless Chromium and checked as a person sees it.

The run is made once per module by the real runner against the Replicate emulator, with two extra
models that return real media (PNG images, a WAV file), so thumbnails and players really load.
The browser is Debian's `chromium`, driven by Playwright; the browser tests skip when it is absent
(`.ci/run` installs it).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from playwright.sync_api import Browser, Page

from replicate_batch.cli import main
from replicate_batch.reports.page import REPORT_NAME, page_data, try_write_report, write_report
from replicate_batch.reports.records import RunRecords, load_run
from replicate_batch.runfolder.manifest import Manifest
from tests.browser import opened_page
from tests.emulated import emulated, run_scaled
from tests.emulator_models import prop
from tests.replicate_emulator import ModelDef, PredictContext
from tests.sample_runs import solid_png, tone_wav, write_synthetic_run

LONG_PROMPT = (
    "A lighthouse keeper writes down every ship that passes in the night. " * 6 + "The last was ours."
)
BIG_IMAGE_NOISE = os.urandom(400 * 300 * 3)  # incompressible: far over the embedding limit


def _painter(inputs: dict[str, Any], ctx: PredictContext) -> list[str]:
    shade = (inputs.get("seed") or 0) * 60 % 256
    return [
        ctx.file(solid_png(40, 30, (shade, 90 + 40 * i, 160)), f"out-{i}.png")
        for i in range(inputs["num_outputs"])
    ]


def _speaker(inputs: dict[str, Any], ctx: PredictContext) -> str:
    return ctx.file(tone_wav(), "speech.wav")


def media_models() -> list[ModelDef]:
    """Two models that return real files: PNG images and a WAV file."""
    painter = ModelDef(
        owner="acme",
        name="painter",
        input_schema={
            "required": ["prompt"],
            "properties": {
                "prompt": prop("prompt", 0, "string", "What to paint"),
                "seed": prop("seed", 1, "integer", "Random seed"),
                "num_outputs": prop("num_outputs", 2, "integer", "Images", default=1, minimum=1),
            },
        },
        output_schema={"type": "array", "items": {"type": "string", "format": "uri"}},
        predict=_painter,
        duration_s=lambda inputs: 0.3 * (inputs.get("seed") or 1),
    )
    speaker = ModelDef(
        owner="acme",
        name="speaker",
        input_schema={"required": ["prompt"], "properties": {"prompt": prop("prompt", 0, "string", "Text")}},
        output_schema={"type": "string", "format": "uri"},
        predict=_speaker,
        duration_s=0.2,
    )
    return [painter, speaker]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A finished run: 3 rows x (painter with seeds 1 and 2, echo, json, vision, speaker)."""
    base = tmp_path_factory.mktemp("report")
    (base / "small.png").write_bytes(solid_png(32, 24, (20, 160, 60)))
    (base / "big.png").write_bytes(solid_png(400, 300, (0, 0, 0), noise=BIG_IMAGE_NOISE))
    spec = {
        "models": [
            {"ref": "acme/painter", "input": {"num_outputs": 2}},
            "acme/echo",
            "acme/json",
            "acme/vision",
            "acme/speaker",
        ],
        "inputs": [
            {"id": "cat", "prompt": "a cat", "text": "a cat", "image": "small.png", "_expected": "cat"},
            {"id": "dog", "prompt": "a dog", "text": "a dog", "image": "big.png", "fail": True},
            {"id": "keeper", "prompt": LONG_PROMPT, "text": "light", "image": "small.png", "repeat": 5},
        ],
        "matrix": {"seed": [1, 2]},
        "retry": {"initial_wait": 0.5, "max_wait": 2},
    }
    spec_path = base / "spec.yaml"
    spec_path.write_text(yaml.safe_dump(spec), encoding="utf-8")
    with emulated(*media_models()):
        summary = run_scaled(spec_path, base / "runs")
    assert summary.run_dir is not None and summary.exit_code == 1  # echo on `dog` fails
    yield summary.run_dir


@pytest.fixture(scope="module")
def run(run_dir: Path) -> RunRecords:
    return load_run(run_dir)


@pytest.fixture
def page(browser: Browser, run_dir: Path) -> Iterator[tuple[Page, list[str]]]:
    """The run's report, opened from file:// and fully drawn; with every URL the page requested."""
    yield from opened_page(browser, run_dir / REPORT_NAME, width=1600, height=4000, drawn=True)


def files_of(run: RunRecords, suffix: str) -> list[str]:
    return [f for r in run.results for f in json.loads(r["files"]) if f.endswith(suffix)]


def job_box(page: Page, run: RunRecords, model: str, row_id: str) -> Any:
    job_id = next(r["job_id"] for r in run.results if r["model"] == model and r["row_id"] == row_id)
    return page.locator(f".job[data-job='{job_id}']")


def test_every_run_writes_its_report(run_dir: Path) -> None:
    html = (run_dir / REPORT_NAME).read_text(encoding="utf-8")
    assert html.startswith("<!doctype html>") and "Content-Security-Policy" in html


def test_one_loaded_thumbnail_per_image_file_opening_full_size(
    page: tuple[Page, list[str]], run: RunRecords
) -> None:
    opened, _ = page
    images = files_of(run, ".png")
    assert len(images) == 3 * 2 * 2  # rows x seeds x num_outputs
    thumbs = opened.locator("img.output")
    assert thumbs.count() == len(images)
    opened.wait_for_function("() => [...document.images].every(i => i.complete)")
    shown = thumbs.evaluate_all(
        "imgs => imgs.map(i => [i.getAttribute('src'), i.naturalWidth, i.closest('a').getAttribute('href')])"
    )
    assert sorted(src for src, _, _ in shown) == sorted(images)
    assert all(width == 40 and href == src for src, width, href in shown)


def test_input_images_are_shown_small_ones_embedded_big_ones_referenced(page: tuple[Page, list[str]]) -> None:
    opened, _ = page
    opened.wait_for_function("() => [...document.images].every(i => i.complete)")
    inputs = opened.locator("img.input-image").evaluate_all(
        "imgs => imgs.map(i => [i.getAttribute('src').slice(0, 22), i.naturalWidth])"
    )
    assert sorted(inputs) == sorted(
        [["data:image/png;base64,", 32], ["data:image/png;base64,", 32], ["../../big.png", 400]]
    )


def test_failed_only_filter_hides_succeeded_cells(page: tuple[Page, list[str]], run: RunRecords) -> None:
    opened, _ = page
    failed = [r for r in run.results if r["status"] != "succeeded"]
    assert [(r["model"], r["row_id"]) for r in failed] == [("echo", "dog")]
    assert opened.locator(".job.succeeded:visible").count() == len(run.results) - 1
    opened.get_by_label("only failed and canceled").check()
    assert opened.locator(".job.succeeded:visible").count() == 0
    assert opened.locator(".job:visible").count() == 1
    assert opened.locator("#rows > .gridrow:visible").count() == 1
    error = opened.locator(".job.failed .error")
    assert error.is_visible() and "asked to fail" in error.inner_text()
    assert error.evaluate("e => getComputedStyle(e).color") == "rgb(207, 34, 46)"
    opened.get_by_label("only failed and canceled").uncheck()
    assert opened.locator(".job:visible").count() == len(run.results)


def test_long_text_is_collapsed_and_expands(page: tuple[Page, list[str]], run: RunRecords) -> None:
    opened, _ = page
    box = job_box(opened, run, "echo", "keeper")
    full = next(r["output"] for r in run.results if r["model"] == "echo" and r["row_id"] == "keeper")
    assert len(full) > 2000
    tail = "The last was ours."
    assert full.endswith(tail)
    assert tail not in box.inner_text()
    box.get_by_role("button", name=f"show all {len(full)} characters").click()
    assert tail in box.inner_text() and full in box.locator(".text").inner_text()
    box.get_by_role("button", name="show less").click()
    assert tail not in box.inner_text()


def test_json_is_pretty_printed_and_audio_has_a_player(page: tuple[Page, list[str]], run: RunRecords) -> None:
    opened, _ = page
    assert job_box(opened, run, "json", "cat").locator("pre.text").inner_text() == json.dumps(
        {"text": "a cat", "words": 2, "characters": 5, "upper": "A CAT"}, indent=2
    )
    players = opened.get_by_role("button", name="▶ play audio")
    assert players.count() == len(files_of(run, ".wav")) == 3
    assert opened.locator("audio").count() == 0  # players are made on demand: a big run stays fast
    players.first.click()
    opened.wait_for_function("() => document.querySelector('audio[controls]')?.readyState >= 1")
    assert opened.locator("audio").evaluate("a => a.duration") == pytest.approx(0.2, abs=0.01)


def test_sorting_by_wall_time(page: tuple[Page, list[str]], run: RunRecords) -> None:
    opened, _ = page
    opened.get_by_label("sort").select_option("slow")
    opened.wait_for_selector("body[data-rendered=complete]")
    slowest = opened.locator("#rows > .gridrow").evaluate_all(
        "rows => rows.map(r => Math.max(...[...r.querySelectorAll('.wall')]"
        ".map(w => parseFloat(w.textContent))))"
    )
    assert len(slowest) == 3 and slowest == sorted(slowest, reverse=True)
    expected = max(float(r["wall_time"]) for r in run.results)
    assert slowest[0] == pytest.approx(expected, rel=0.01)


def test_summary_per_model(page: tuple[Page, list[str]]) -> None:
    opened, _ = page
    rows = opened.locator("table.summary tbody tr").evaluate_all(
        "rows => rows.map(r => [...r.cells].map(c => c.textContent))"
    )
    by_model = {cells[0]: cells[2:6] for cells in rows}
    assert by_model == {
        "painter": ["6", "6", "0", "0"],
        "echo": ["3", "2", "1", "0"],
        "json": ["3", "3", "0", "0"],
        "vision": ["3", "3", "0", "0"],
        "speaker": ["3", "3", "0", "0"],
        "total": ["18", "17", "1", "0"],
    }


def test_nothing_is_loaded_from_the_network(page: tuple[Page, list[str]]) -> None:
    opened, requests = page
    opened.wait_for_function("() => [...document.images].every(i => i.complete)")
    assert requests and all(url.startswith(("file://", "data:")) for url in requests), requests


def test_a_large_run_is_drawn_completely(browser: Browser, tmp_path: Path) -> None:
    run_dir = write_synthetic_run(tmp_path / "big-run", rows=600)  # benchmarks/report_open.py: 2,000
    assert main(["report", str(run_dir)]) == 0
    context = browser.new_context()
    opened = context.new_page()
    opened.goto((run_dir / REPORT_NAME).as_uri())
    opened.wait_for_selector("body[data-rendered=complete]", timeout=30_000)
    assert opened.locator("#rows > .gridrow").count() == 600
    assert opened.locator(".job").count() == 2400
    pngs = files_of(load_run(run_dir), ".png")
    assert 1000 < len(pngs) < 1200  # some painter jobs failed
    assert opened.locator("img.output").count() == len(pngs)
    context.close()


def test_a_run_over_the_cap_shows_part_of_its_grid_under_a_banner(browser: Browser, tmp_path: Path) -> None:
    run_dir = write_synthetic_run(tmp_path / "capped", rows=60, write_files=False)  # 240 jobs, 9 failed
    write_report(run_dir, max_jobs=100)  # tests/test_report_large.py: which rows, exactly
    context = browser.new_context()
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    opened.goto((run_dir / REPORT_NAME).as_uri())
    opened.wait_for_selector("body[data-rendered=complete]")
    banner = opened.get_by_role("note")
    assert banner.is_visible() and banner.inner_text().startswith("Showing 100 of 240 results")
    assert opened.locator("#rows > .gridrow").count() == 25
    assert opened.locator(".job").count() == 100
    total = opened.locator("table.summary tr.total td").all_inner_texts()
    assert total[2:5] == ["240", "231", "9"]
    opened.get_by_label("only failed and canceled").check()
    assert opened.locator(".job:visible").count() == 9
    context.close()
    assert errors == []


def test_report_command_rewrites_the_report(run_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (run_dir / REPORT_NAME).unlink()
    assert main(["report", str(run_dir)]) == 0
    assert (run_dir / REPORT_NAME).is_file()
    assert str(run_dir / REPORT_NAME) in capsys.readouterr().out


def test_report_command_on_a_folder_that_is_not_a_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["report", str(tmp_path)]) == 2
    assert capsys.readouterr().err == f"error: {tmp_path} is not a run folder: it has no results.csv\n"


def test_a_spec_file_named_report_is_still_a_spec(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("report").write_text("models: [acme/echo]\ninputs: [{prompt: hi}]\nconcurency: 2\n")
    assert main(["report"]) == 2
    assert "concurency" in capsys.readouterr().err


def test_a_report_that_cannot_be_written_is_a_warning(tmp_path: Path) -> None:
    path, warning = try_write_report(tmp_path)
    assert path is None
    assert warning.startswith(f"{REPORT_NAME} was not written: ")


def record(model: str, row_id: str, seed: str, status: str = "succeeded") -> dict[str, str]:
    """A results.csv row with only what the grid needs."""
    return {
        "job_id": f"{model}-{row_id}-{seed}",
        "model": model,
        "row_id": row_id,
        "repeat": "0",
        "status": status,
        "files": "[]",
        "input.prompt": f"about {row_id}",
        "input.seed": seed,
    }


def test_grid_rows_split_by_matrix_values_that_every_model_takes(tmp_path: Path) -> None:
    def grid(records: list[dict[str, str]]) -> list[tuple[str, list[str], list[list[str]]]]:
        run = RunRecords(tmp_path, records, Manifest(), {"matrix": {"seed": [1, 2]}}, ["prompt", "seed"], [])
        data = page_data(run)
        labels = [[data["jobs"][k]["m"] for cell in row["c"] for k in cell] for row in data["rows"]]
        return [(row["l"], row["t"], labels[n]) for n, row in enumerate(data["rows"])]

    both = [record(m, r, s) for s in ("2", "1") for r in ("2", "1") for m in ("x", "y")]
    assert grid(both) == [
        ("1", ["seed=1"], ["", ""]),
        ("1", ["seed=2"], ["", ""]),
        ("2", ["seed=1"], ["", ""]),
        ("2", ["seed=2"], ["", ""]),
    ]
    # `y` takes no seed: one grid row per input row, x's seeds stacked in its cell and labelled.
    mixed = [record("x", r, s) for s in ("2", "1") for r in ("1", "2")] + [record("y", r, "") for r in "12"]
    assert grid(mixed) == [("1", [], ["seed=1", "seed=2", ""]), ("2", [], ["seed=1", "seed=2", ""])]


def test_a_run_cut_short_mid_line_still_gets_a_report(tmp_path: Path) -> None:
    run_dir = write_synthetic_run(tmp_path / "cut", rows=3)
    with open(run_dir / "results.csv", "a", encoding="utf-8") as results:
        results.write("synthetic,00ff,painter,acme/painter,,4,0,succ")  # killed while writing
    assert len(load_run(run_dir).results) == 12
    assert try_write_report(run_dir) == (run_dir / REPORT_NAME, "")


def _scripted_files(inputs: dict[str, Any], ctx: PredictContext) -> list[str]:
    """An HTML page, an SVG drawing and an XML file, each with a script that loads `marker` if run."""
    script = f"<script>new Image().src = {json.dumps(inputs['marker'])};</script>"
    shade = "3a7" if inputs.get("seed") else "a37"
    rect = f'<rect width="30" height="20" fill="#{shade}"/>'
    svg = f'<svg xmlns="http://www.w3.org/2000/svg" width="30" height="20">{rect}{script}</svg>'
    xhtml = f'<html xmlns="http://www.w3.org/1999/xhtml"><body>{script}</body></html>'
    return [
        ctx.file(f"<!doctype html><title>page</title>{script}".encode(), "page.html"),
        ctx.file(svg.encode(), "drawing.svg"),
        ctx.file(xhtml.encode(), "feed.xml"),
    ]


def test_html_svg_and_xml_files_are_never_opened_by_the_pages(browser: Browser, tmp_path: Path) -> None:
    marker = (tmp_path / "a-script-ran.png").as_uri()  # what the files' scripts load, were they run
    pages = ModelDef(
        owner="acme",
        name="pages",
        input_schema={
            "required": ["marker"],
            "properties": {
                "marker": prop("marker", 0, "string", "What the scripts load"),
                "drawing": prop("drawing", 1, "string", "An input drawing", format="uri"),
                "page": prop("page", 2, "string", "An input page", format="uri"),
                "seed": prop("seed", 3, "integer", "Changes the drawing's colour", default=0),
            },
        },
        output_schema={"type": "array", "items": {"type": "string", "format": "uri"}},
        predict=_scripted_files,
    )
    script = f'<script>new Image().src = "{marker}";</script>'
    (tmp_path / "input.svg").write_text(
        f'<svg xmlns="http://www.w3.org/2000/svg" width="8" height="8">{script}</svg>'
    )
    (tmp_path / "input.html").write_text(f"<!doctype html>{script}")
    row = {"id": "one", "marker": marker, "drawing": "input.svg", "page": "input.html"}
    spec_path = tmp_path / "spec.yaml"
    spec_path.write_text(yaml.safe_dump({"models": ["acme/pages"], "inputs": [row]}), encoding="utf-8")
    with emulated(pages):
        first = run_scaled(spec_path, tmp_path / "runs")
        spec_path.write_text(yaml.safe_dump({"models": ["acme/pages"], "inputs": [{**row, "seed": 1}]}))
        second = run_scaled(spec_path, tmp_path / "runs")
    assert first.run_dir is not None and second.run_dir is not None and second.exit_code == 0
    assert main(["compare", str(first.run_dir), str(second.run_dir)]) == 0  # writes compare.html

    context = browser.new_context()
    requested: list[str] = []
    context.on("request", lambda request: requested.append(request.url))
    for shown in (second.run_dir / REPORT_NAME, second.run_dir / "compare.html"):
        opened = context.new_page()
        opened.goto(shown.as_uri())
        if shown.name == REPORT_NAME:
            opened.wait_for_selector("body[data-rendered=complete]")
        opened.wait_for_function("() => [...document.images].every(i => i.complete)")
        assert opened.locator("iframe, object, embed").count() == 0
        hrefs = opened.locator("a[href]").evaluate_all("links => links.map(a => a.href)")
        assert not [
            h for h in hrefs if h.endswith((".html", ".svg", ".xml")) or h.startswith("data:image/svg")
        ]
        # The drawings are shown all the same, as images (which run no script), and click to nothing.
        drawings = opened.locator("img[src$='.svg'], img[src^='data:image/svg']")
        assert drawings.count() == 2  # report: the output and the input; compare: A's and B's output
        assert all(width > 0 for width in drawings.evaluate_all("imgs => imgs.map(i => i.naturalWidth)"))
        for index in range(drawings.count()):
            drawings.nth(index).click()
        if shown.name == REPORT_NAME:  # the rest are named, with a link to their folder
            assert opened.locator("span.active").all_inner_texts() == ["input.html", "page.html", "feed.xml"]
            folder = opened.locator("span.active + a").nth(1)
            assert folder.inner_text() == "folder"
            assert folder.evaluate("a => a.href") == (second.run_dir / "files/pages/one").as_uri() + "/"
        assert opened.url == shown.as_uri()
    assert len(context.pages) == 2  # nothing opened a tab
    assert marker not in requested
    # Opened by themselves, these files do run their scripts: what the pages above never do.
    context.new_page().goto((second.run_dir / "files/pages/one/page.html").as_uri())
    assert marker in requested
    context.close()
