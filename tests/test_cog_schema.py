"""`cog_schema` rests on cog's private inspector: every committed `.cog/openapi_schema.json` is regenerated
from a copy of its model folder and must come out byte for byte, so a change in cog or in the generator
shows here first.
"""

from __future__ import annotations

import json
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from replicate_batch.backends.cog_schema import SCHEMA_PATH, write_openapi_schema
from replicate_batch.errors import CogSchemaError

REPO = Path(__file__).resolve().parent.parent
COMMITTED = sorted(
    path.parent.parent
    for pattern in ("examples/models/*", "tests/cog_models/*")
    for path in REPO.glob(f"{pattern}/{SCHEMA_PATH}")
)


def test_every_example_model_ships_its_schema() -> None:
    examples = {path.parent for path in REPO.glob("examples/models/*/cog.yaml")}
    assert examples and examples <= set(COMMITTED)


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory: pytest.TempPathFactory) -> dict[Path, Path | CogSchemaError]:
    """Each committed model copied without its `.cog` and its schema written again, all at once."""
    copies = {}
    for model in COMMITTED:
        copies[model] = tmp_path_factory.mktemp("models") / model.name
        shutil.copytree(model, copies[model], ignore=shutil.ignore_patterns(".cog", "__pycache__"))

    def generate(model: Path) -> Path | CogSchemaError:
        try:
            return write_openapi_schema(copies[model])
        except CogSchemaError as error:
            return error

    with ThreadPoolExecutor(max_workers=len(COMMITTED)) as pool:
        return dict(zip(COMMITTED, pool.map(generate, COMMITTED)))


@pytest.mark.parametrize("model", COMMITTED, ids=lambda model: f"{model.parent.name}/{model.name}")
def test_the_committed_schema_is_what_the_generator_writes(
    model: Path, regenerated: dict[Path, Path | CogSchemaError]
) -> None:
    written = regenerated[model]
    assert isinstance(written, Path), written
    assert written.relative_to(written.parent.parent) == SCHEMA_PATH
    committed = (model / SCHEMA_PATH).read_text(encoding="utf-8")
    assert json.loads(written.read_text(encoding="utf-8")) == json.loads(committed)
    assert written.read_text(encoding="utf-8") == committed  # the same layout too, so diffs stay quiet
    # Nothing else lands in the model folder (no __pycache__ from importing predict.py).
    fresh = written.parent.parent
    assert {p.name for p in fresh.iterdir()} == {p.name for p in model.iterdir()} - {"__pycache__"}


@pytest.mark.parametrize(
    ("predict", "reason"),
    [
        (
            "raise RuntimeError('weights missing')\n",
            "importing predict.py failed: RuntimeError: weights missing",
        ),
        (
            "from cog import BaseRunner, streaming\n\n\n"
            "class Predictor(BaseRunner):\n"
            "    @streaming\n"
            "    def run(self, prompt: str) -> str:\n"
            "        return prompt\n",
            "predict.py:Predictor.run: @streaming requires an Iterator or ConcatenateIterator output",
        ),
    ],
    ids=["import fails", "streaming a str"],
)
def test_a_model_the_generator_cannot_read_is_one_line_naming_the_folder(
    tmp_path: Path, predict: str, reason: str
) -> None:
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "cog.yaml").write_text('predict: "predict.py:Predictor"\n')
    (folder / "predict.py").write_text(predict)
    with pytest.raises(CogSchemaError) as refused:
        write_openapi_schema(folder)
    assert str(refused.value) == f"{folder}: {reason}"
    assert not (folder / SCHEMA_PATH).exists()
