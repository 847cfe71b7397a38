"""The inline SVG chart of `history.html`, read back with an XML parser."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from replicate_batch.reports.svg_chart import TOP, ChartPoint, ChartSeries, line_chart_svg

SVG = "{http://www.w3.org/2000/svg}"
HOSTILE = "<script>alert(1)</script> & \"quoted\" 'single' \x07bell"


def parse(svg: str) -> ET.Element:
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    return root


def by_class(root: ET.Element, tag: str, cls: str) -> list[ET.Element]:
    return [e for e in root.iter(f"{SVG}{tag}") if cls in (e.get("class") or "").split()]


def shown_text(text: ET.Element) -> str:
    """What a <text> shows: its own text, not that of its <title> (the tooltip)."""
    return (text.text or "") + "".join(child.tail or "" for child in text)


def point(mean: float, spread: float = 0.1, significant: bool = False) -> ChartPoint:
    return ChartPoint(mean, mean - spread, mean + spread, significant)


def subpaths(d: str) -> int:
    return len(re.findall(r"M", d))


RUNS = ["run-1", "run-2", "run-3", "run-4", "run-5"]
SERIES = [
    ChartSeries("caption", [point(0.5), point(0.6), point(0.7, significant=True), point(0.65), point(0.8)]),
    ChartSeries("wordsmith", [point(0.2), point(0.3), None, point(0.4), point(0.45)]),
]


def test_the_chart_is_well_formed_xml_with_one_line_per_model() -> None:
    root = parse(line_chart_svg(RUNS, SERIES, title="score.label"))
    lines = by_class(root, "path", "line")
    assert len(lines) == 2
    assert [g.get("data-model") for g in by_class(root, "g", "series")] == ["caption", "wordsmith"]
    assert [t.text for t in root.iter(f"{SVG}text") if t.text in ("caption", "wordsmith")] == [
        "caption",
        "wordsmith",
    ]
    assert root.findtext(f"{SVG}title") == "score.label"
    assert len(by_class(root, "circle", "significant")) == 1
    assert "significant change" in [t.text for t in root.iter(f"{SVG}text")]


def test_a_missing_point_breaks_the_line_and_the_band() -> None:
    root = parse(line_chart_svg(RUNS, SERIES))
    caption, wordsmith = (g for g in by_class(root, "g", "series"))
    caption_line = by_class(caption, "path", "line")[0].get("d", "")
    wordsmith_line = by_class(wordsmith, "path", "line")[0].get("d", "")
    assert subpaths(caption_line) == 1 and caption_line.count("L") == 4
    assert subpaths(wordsmith_line) == 2 and wordsmith_line.count("L") == 2  # runs 1-2, then 4-5
    assert subpaths(by_class(wordsmith, "path", "band")[0].get("d", "")) == 2
    dots = [c for c in wordsmith.iter(f"{SVG}circle") if c.get("class") is None]
    assert len(dots) == 4
    assert [c.findtext(f"{SVG}title") for c in dots][1] == "run-2 · wordsmith: 0.30 [0.20, 0.40]"


def test_a_lone_point_and_a_point_without_interval_are_drawn() -> None:
    series = [
        ChartSeries("lone", [None, point(0.5), None, None, None]),
        ChartSeries("bare", [ChartPoint(0.4), ChartPoint(0.5), None, None, None]),
    ]
    root = parse(line_chart_svg(RUNS, series))
    lone, bare = by_class(root, "g", "series")
    assert subpaths(by_class(lone, "path", "band")[0].get("d", "")) == 1  # a bar for the interval
    assert by_class(bare, "path", "band") == []
    assert len(list(lone.iter(f"{SVG}circle"))) == 1


def test_everything_from_the_data_is_escaped() -> None:
    svg = line_chart_svg(
        [HOSTILE, "run-2"],
        [ChartSeries(HOSTILE, [point(0.5, significant=True), point(0.6)])],
        title=HOSTILE,
        marker_note=HOSTILE,
    )
    assert "<script" not in svg
    root = parse(svg)
    assert not [e for e in root.iter() if e.tag.endswith("script")]
    shown = HOSTILE.replace("\x07", "\ufffd")  # a character XML cannot hold at all
    assert by_class(root, "g", "series")[0].get("data-model") == shown
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert texts.count(shown) == 2  # legend entry and ring note
    assert root.get("aria-label") == shown
    assert root.findtext(f"{SVG}title") == shown
    tips = [t.text or "" for t in root.iter(f"{SVG}title")]
    assert shown in tips  # the run label in full on its axis label
    assert f"{shown} · {shown}: 0.50 [0.40, 0.60]" in tips
    axis = [shown_text(t) for t in by_class(root, "g", "x-axis")[0].iter(f"{SVG}text")]
    assert axis == [shown[:19] + "…", "run-2"]  # a long run label is cut on the axis


def test_the_axis_is_0_to_1_by_default_and_grows_to_fit_the_data() -> None:
    root = parse(line_chart_svg(["a", "b"], [ChartSeries("m", [ChartPoint(0.0), ChartPoint(1.0)])]))
    dots = list(by_class(root, "g", "series")[0].iter(f"{SVG}circle"))
    top, bottom = float(dots[1].get("cy", "nan")), float(dots[0].get("cy", "nan"))
    assert top == TOP  # 1.0 at the top of the plot, 0.0 at its bottom
    ticks = [t.text for t in by_class(root, "g", "y-axis")[0].iter(f"{SVG}text")]
    assert ticks == ["0", "0.25", "0.5", "0.75", "1"]
    wide = parse(line_chart_svg(["a"], [ChartSeries("m", [ChartPoint(3.0, 2.0, 4.0)])]))
    wide_ticks = [t.text for t in by_class(wide, "g", "y-axis")[0].iter(f"{SVG}text")]
    assert wide_ticks == ["0", "1", "2", "3", "4"]
    fitted = parse(line_chart_svg(RUNS, SERIES, y_range=None))
    fitted_ticks = [float(t.text or "") for t in by_class(fitted, "g", "y-axis")[0].iter(f"{SVG}text")]
    assert min(fitted_ticks) >= 0.1 and max(fitted_ticks) <= 0.9
    assert bottom > top


def test_the_same_data_draws_the_same_text() -> None:
    assert line_chart_svg(RUNS, SERIES) == line_chart_svg(RUNS, SERIES)


def test_few_runs_are_all_labelled() -> None:
    labels = [
        shown_text(t)
        for t in by_class(parse(line_chart_svg(RUNS, SERIES)), "g", "x-axis")[0].iter(f"{SVG}text")
    ]
    assert labels == RUNS


def test_many_runs_label_the_first_and_last_and_a_few_between() -> None:
    runs = [f"2025-01-{i:03d}" for i in range(365)]
    svg = line_chart_svg(runs, [ChartSeries("m", [ChartPoint(0.5)] * 365)])
    labels = [shown_text(t) for t in by_class(parse(svg), "g", "x-axis")[0].iter(f"{SVG}text")]
    assert labels[0] == runs[0] and labels[-1] == runs[-1]
    assert 3 <= len(labels) <= 8


def test_nothing_to_draw_still_gives_a_chart() -> None:
    root = parse(line_chart_svg([], []))
    assert "no scores to draw" in [t.text for t in root.iter(f"{SVG}text")]
    root = parse(line_chart_svg(["a"], [ChartSeries("m", [None])]))
    assert by_class(root, "path", "line")[0].get("d") == ""


def test_points_must_match_the_runs_and_be_numbers() -> None:
    with pytest.raises(ValueError, match="'m' has 1 points for 2 runs"):
        line_chart_svg(["a", "b"], [ChartSeries("m", [ChartPoint(0.5)])])
    with pytest.raises(ValueError, match="finite"):
        line_chart_svg(["a"], [ChartSeries("m", [ChartPoint(float("nan"))])])
