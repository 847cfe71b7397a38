"""The Replicate emulator, checked by driving it with the real `replicate` 1.0.7 client."""

from __future__ import annotations

import dataclasses
import hashlib
import re
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import replicate
from replicate.exceptions import ModelError, ReplicateError
from replicate.helpers import FileOutput
from replicate.pagination import paginate

from tests.emulator_models import fake_png, install_standard_models, official_image_model, unpushed_model
from tests.replicate_emulator import UNTIL_REMOVED, Emulator, Fault, ModelDef, parse_go_duration

TOKEN = "r8_test"
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{2,9}Z$")


@pytest.fixture
def emu() -> Iterator[Emulator]:
    with Emulator(token=TOKEN, time_scale=0.01) as emulator:
        install_standard_models(emulator)
        yield emulator


@pytest.fixture
def make_client(emu: Emulator) -> Iterator[Callable[..., replicate.Client]]:
    transports: list[httpx.HTTPTransport] = []

    def make(token: str = TOKEN, **kwargs: Any) -> replicate.Client:
        # Our own transport so the test can close its sockets (ResourceWarning is an error here);
        # plain http needs no certificate store, and loading one costs 60 ms per client.
        transports.append(httpx.HTTPTransport(verify=False))
        client = replicate.Client(api_token=token, base_url=emu.base_url, transport=transports[-1], **kwargs)
        client.poll_interval = 0.005
        return client

    yield make
    for transport in transports:
        transport.close()


@pytest.fixture
def client(make_client: Callable[..., replicate.Client]) -> replicate.Client:
    return make_client()


def raw(emu: Emulator, method: str, path: str, **kwargs: Any) -> httpx.Response:
    """One request straight to the emulator, to see bodies and headers the client hides."""
    headers = {"Authorization": f"Bearer {TOKEN}", **kwargs.pop("headers", {})}
    return httpx.request(method, emu.base_url + path, headers=headers, verify=False, **kwargs)


def version_of(emu: Emulator, ref: str) -> str:
    return str(emu.models[ref].version_id)


def wait_for(condition: Callable[[], bool], timeout_s: float = 3.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.002)


# -- models and versions -------------------------------------------------------------------------


def test_model_and_version_carry_cog_style_schema(emu: Emulator, client: replicate.Client) -> None:
    model = client.models.get("acme/imagegen")
    assert model.latest_version is not None
    assert model.latest_version.id == version_of(emu, "acme/imagegen")
    schemas = model.latest_version.openapi_schema["components"]["schemas"]
    scheduler = schemas["Input"]["properties"]["scheduler"]
    assert scheduler["allOf"] == [{"$ref": "#/components/schemas/Scheduler"}]
    assert "K_EULER" in schemas["Scheduler"]["enum"]
    assert schemas["Input"]["properties"]["prompt"]["x-order"] == 0
    assert schemas["Output"]["items"]["format"] == "uri"

    version = model.versions.get(model.latest_version.id)
    assert version.openapi_schema == model.latest_version.openapi_schema
    llm_output = client.models.get("acme/llm").latest_version.openapi_schema  # type: ignore[union-attr]
    assert llm_output["components"]["schemas"]["Output"]["x-cog-array-type"] == "iterator"


def test_unknown_model_and_version_are_404(client: replicate.Client) -> None:
    with pytest.raises(ReplicateError) as missing:
        client.models.get("acme/nope")
    assert missing.value.status == 404
    with pytest.raises(ReplicateError) as bad_version:
        client.models.get("acme/echo").versions.get("0" * 64)
    assert bad_version.value.status == 404


# -- predictions for every standard model ---------------------------------------------------------


def test_echo_runs_by_model_name_and_reports_a_deployment_version(
    emu: Emulator, client: replicate.Client
) -> None:
    assert client.run("acme/echo", input={"prompt": "hi", "repeat": 3}) == "hi hi hi"
    prediction = client.predictions.list().results[0]
    assert prediction.version.startswith("dp-")
    assert prediction.model == "acme/echo"


def test_create_then_poll_goes_starting_processing_succeeded(emu: Emulator, client: replicate.Client) -> None:
    # 100 ms booting and 200 ms running: plenty of polls land in each phase, even on a busy box.
    slow = dataclasses.replace(emu.models["acme/json"], name="slow", version_id=None, boot_s=2, duration_s=4)
    emu.add_model(slow)
    emu.time_scale = 0.05
    body = {"version": version_of(emu, "acme/slow"), "input": {"text": "a"}}
    created = raw(emu, "POST", "/v1/predictions", json=body)
    assert created.status_code == 201
    body = created.json()
    assert body["status"] == "starting"
    assert not {"output", "started_at", "completed_at", "metrics"} & body.keys()  # absent, not null
    assert TIMESTAMP.match(body["created_at"])
    assert re.fullmatch(r"[0-9a-z]{26}", body["id"])
    assert created.headers["ratelimit-remaining"] == "599"

    seen = []
    prediction = client.predictions.get(body["id"])
    while prediction.status not in ("succeeded", "failed", "canceled"):
        seen.append(prediction.status)
        prediction = client.predictions.get(body["id"])
    assert seen == sorted(seen, key=["starting", "processing"].index) and "processing" in seen
    assert prediction.status == "succeeded" and prediction.output["text"] == "a"
    assert prediction.metrics is not None and prediction.metrics["predict_time"] > 0
    assert all(TIMESTAMP.match(str(t)) for t in (prediction.started_at, prediction.completed_at))


def test_imagegen_needs_a_version_and_serves_its_files(emu: Emulator, client: replicate.Client) -> None:
    with pytest.raises(ReplicateError) as by_name:
        client.models.predictions.create("acme/imagegen", input={"prompt": "x"})
    assert by_name.value.status == 404

    ref = f"acme/imagegen:{version_of(emu, 'acme/imagegen')}"
    urls = client.run(ref, input={"prompt": "cat", "num_outputs": 2, "seed": 7, "scheduler": "DDIM"})
    assert len(urls) == 2
    for index, url in enumerate(urls):
        assert url.startswith(f"{emu.base_url}/delivery/")  # plain http: the client keeps str
        got = httpx.get(url, verify=False)  # delivery URLs need no token, like replicate.delivery
        assert got.content == fake_png("cat", 7, index, "DDIM")
        assert got.headers["content-type"] == "image/png"
    prediction = client.predictions.list().results[0]
    assert "Using seed: 7" in str(prediction.logs)
    assert prediction.progress is not None and prediction.progress.percentage == 1.0


def test_json_and_mixed_outputs(emu: Emulator, client: replicate.Client) -> None:
    out = client.run(f"acme/json:{version_of(emu, 'acme/json')}", input={"text": "two words"})
    assert out == {"text": "two words", "words": 2, "characters": 9, "upper": "TWO WORDS"}
    mixed = client.run(f"acme/mixed:{version_of(emu, 'acme/mixed')}", input={"prompt": "dog", "seed": 1})
    assert mixed["caption"] == "a picture of dog"
    assert httpx.get(mixed["image"], verify=False).content == fake_png("dog", 1)


def test_failed_prediction_raises_model_error(client: replicate.Client) -> None:
    with pytest.raises(ModelError, match="asked to fail") as failed:
        client.run("acme/echo", input={"prompt": "x", "fail": True})
    assert failed.value.prediction.status == "failed"


def test_data_uri_outputs_become_file_outputs(emu: Emulator, client: replicate.Client) -> None:
    inline = dataclasses.replace(
        emu.models["acme/mixed"], name="inline", version_id=None, data_uri_outputs=True
    )
    emu.add_model(inline)
    out = client.run(f"acme/inline:{inline.version_id}", input={"prompt": "sun", "seed": 2})
    assert isinstance(out["image"], FileOutput) and out["image"].url.startswith("data:image/png;base64,")
    assert out["image"].read() == fake_png("sun", 2)


# -- sync mode and streaming lists ------------------------------------------------------------------


def test_prefer_wait_returns_the_finished_prediction(emu: Emulator, client: replicate.Client) -> None:
    prediction = client.models.predictions.create("acme/echo", input={"prompt": "hey"}, wait=True)
    assert prediction.status == "succeeded" and prediction.output == "hey"
    assert emu.count("get") == 0

    slow = raw(
        emu,
        "POST",
        "/v1/models/acme/echo/predictions",
        json={"input": {"prompt": "slow", "seconds": 100}},
        headers={"Prefer": "wait=1"},  # 1 s scaled to 10 ms, far less than the model needs
    )
    assert slow.headers["Preference-Applied"] == "wait=1"
    assert slow.json()["status"] in ("starting", "processing")


def test_sync_answer_can_say_processing_with_complete_output(emu: Emulator, client: replicate.Client) -> None:
    quirky = dataclasses.replace(
        emu.models["acme/echo"], name="quirky", version_id=None, sync_reports_processing=True
    )
    emu.add_model(quirky)
    prediction = client.models.predictions.create("acme/quirky", input={"prompt": "done"}, wait=True)
    assert prediction.status == "processing" and prediction.output == "done"
    assert prediction.completed_at is None
    assert client.predictions.get(prediction.id).status == "succeeded"
    # run() trusts the sync answer and returns without polling, like against the real API.
    assert client.run("acme/quirky", input={"prompt": "again"}) == "again"


def test_iterator_output_grows_then_ends_with_empty_string(emu: Emulator, client: replicate.Client) -> None:
    emu.time_scale = 0.2  # 20 chunks over 240 ms
    prompt = " ".join(f"w{i}" for i in range(20))
    prediction = client.models.predictions.create("acme/llm", input={"prompt": prompt})
    prefixes = []
    while prediction.status not in ("succeeded", "failed", "canceled"):
        if prediction.status == "processing":
            prefixes.append(list(prediction.output or []))
        time.sleep(0.002)
        prediction.reload()
    final = prediction.output
    assert final[-1] == "" and "".join(final) == prompt
    assert all(final[: len(p)] == p for p in prefixes)
    assert len({len(p) for p in prefixes}) >= 3  # several partial lists were visible
    assert [len(p) for p in prefixes] == sorted(len(p) for p in prefixes)

    max_tokens = client.run(
        f"acme/llm:{version_of(emu, 'acme/llm')}", input={"prompt": prompt, "max_tokens": 2}
    )
    assert list(max_tokens) == ["w0", " w1", ""]  # a pinned version makes run() yield chunks


# -- files -----------------------------------------------------------------------------------------


def test_uploaded_file_reaches_the_model(emu: Emulator, client: replicate.Client, tmp_path: Path) -> None:
    data = bytes(range(256)) * 40 + b"\r\n--tail"
    image = tmp_path / "photo.png"
    image.write_bytes(data)
    ref = f"acme/vision:{version_of(emu, 'acme/vision')}"
    digest = hashlib.sha256(data).hexdigest()

    out = client.run(ref, input={"image": image, "prompt": "What is it?"})
    assert out == f"What is it? I see {len(data)} bytes with sha256 {digest}."
    [(file_id, stored)] = emu.uploads.items()
    assert stored == data
    meta = client.files.get(file_id)
    assert (meta.name, meta.content_type, meta.size) == ("photo.png", "image/png", len(data))
    assert meta.checksums["sha256"] == digest
    assert meta.urls["get"] == f"{emu.base_url}/v1/files/{file_id}"
    assert raw(emu, "GET", f"/v1/files/{file_id}/download").content == data

    with image.open("rb") as handle:  # inline data URI instead of an upload
        prediction = client.predictions.create(
            version=version_of(emu, "acme/vision"), input={"image": handle}, file_encoding_strategy="base64"
        )
    prediction.wait()
    assert digest in prediction.output
    assert prediction.input["image"].startswith("data:image/png;base64,")
    assert len(emu.uploads) == 1


def test_large_output_file_streams_and_can_be_truncated(emu: Emulator, client: replicate.Client) -> None:
    payload = hashlib.sha256(b"seed").digest() * (5 * 1024 * 1024 // 32)
    emu.add_model(
        ModelDef(
            owner="acme",
            name="big",
            input_schema={"properties": {}},
            output_schema={"type": "string", "format": "uri"},
            predict=lambda inputs, ctx: ctx.file(payload, "big.bin"),
        )
    )
    url = client.run(f"acme/big:{version_of(emu, 'acme/big')}", input={})
    with httpx.stream("GET", url, verify=False) as response:
        assert int(response.headers["content-length"]) == len(payload)
        assert b"".join(response.iter_bytes()) == payload

    emu.add_fault(Fault("download", truncate=True))
    with pytest.raises(httpx.RemoteProtocolError):
        httpx.get(url, verify=False)


# -- faults, throttling, auth and validation --------------------------------------------------------


def test_throttled_create_is_a_429_with_retry_after(emu: Emulator, client: replicate.Client) -> None:
    emu.add_fault(Fault("create", status=429))
    with pytest.raises(ReplicateError) as throttled:
        client.run("acme/echo", input={"prompt": "x"})
    assert throttled.value.status == 429
    assert "rate limit resets in ~1s" in str(throttled.value.detail)

    emu.add_fault(Fault("create", status=429, retry_after=300))
    body = raw(emu, "POST", "/v1/predictions", json={}).json()
    assert body == {
        "detail": "Request was throttled. Your rate limit resets in ~3s.",
        "status": 429,
        "retry_after": 3,
    }
    assert emu.predictions == {}


def test_create_rate_limit_is_a_token_bucket(emu: Emulator) -> None:
    emu.create_rate_limit_per_min = 6  # one per 10 s of model time: one per 100 ms here
    echo = {"input": {"prompt": "x"}}
    with httpx.Client(
        base_url=emu.base_url, headers={"Authorization": f"Bearer {TOKEN}"}, verify=False
    ) as http:
        assert http.post("/v1/models/acme/echo/predictions", json=echo).status_code == 201
        second = http.post("/v1/models/acme/echo/predictions", json=echo)
        assert second.status_code == 429 and second.json()["retry_after"] == 1  # whole seconds
        emu.retry_after_float = True
        third = http.post("/v1/models/acme/echo/predictions", json=echo).json()
        assert 0 < third["retry_after"] <= 0.1
        time.sleep(third["retry_after"])
        assert http.post("/v1/models/acme/echo/predictions", json=echo).status_code == 201
    assert emu.creates_with({"prompt": "x"}) == 4 and len(emu.predictions) == 2


def test_dropped_create_raises_and_after_true_still_creates(emu: Emulator, client: replicate.Client) -> None:
    emu.add_fault(Fault("create", drop=True))
    with pytest.raises(httpx.RemoteProtocolError):
        client.models.predictions.create("acme/echo", input={"prompt": "lost"})
    assert emu.predictions == {}

    emu.add_fault(Fault("create", drop=True, after=True))
    with pytest.raises(httpx.TransportError):
        client.models.predictions.create("acme/echo", input={"prompt": "lost"})
    [created] = emu.predictions.values()
    assert [p.id for p in client.predictions.list()] == [created.id]
    assert emu.creates_with({"prompt": "lost"}) == 2


def test_a_held_create_makes_its_prediction_only_when_the_hold_ends(
    emu: Emulator, client: replicate.Client
) -> None:
    emu.add_fault(Fault("create", hold_s=30))  # 0.3 s real at this scale
    started = time.monotonic()
    answer: dict[str, Any] = {}

    def create() -> None:
        answer["p"] = client.models.predictions.create("acme/echo", input={"prompt": "late"})

    worker = threading.Thread(target=create)
    worker.start()
    wait_for(lambda: emu.count("create") == 1)
    assert emu.predictions == {} and list(client.predictions.list()) == []  # not made, not listed
    assert emu.answering == 1
    worker.join(timeout=5)
    assert emu.answering == 0
    assert time.monotonic() - started >= 0.3
    [created] = emu.predictions.values()
    assert answer["p"].id == created.id and created.input == {"prompt": "late"}  # then answered normally


def test_a_fault_can_last_until_removed(emu: Emulator, client: replicate.Client) -> None:
    ref = f"acme/imagegen:{version_of(emu, 'acme/imagegen')}"
    [url] = client.run(ref, input={"prompt": "cat", "seed": 7})
    failing = emu.add_fault(Fault("download", status=503, times=UNTIL_REMOVED))
    assert [httpx.get(url, verify=False).status_code for _ in range(5)] == [503] * 5
    emu.remove_fault(failing)
    assert httpx.get(url, verify=False).content == fake_png("cat", 7, 0)


def test_removed_data_is_gone_from_the_prediction_and_its_files(
    emu: Emulator, client: replicate.Client
) -> None:
    ref = f"acme/imagegen:{version_of(emu, 'acme/imagegen')}"
    [url] = client.run(ref, input={"prompt": "cat", "seed": 7})
    [state] = emu.predictions.values()
    emu.remove_data(state.id)
    body = raw(emu, "GET", f"/v1/predictions/{state.id}").json()
    assert body["status"] == "succeeded" and body["data_removed"] is True
    assert body["output"] is None and body["input"] == {} and body["logs"] == ""
    assert client.predictions.get(state.id).output is None
    assert httpx.get(url, verify=False).status_code == 404


def test_faults_match_on_the_body_and_apply_in_order(emu: Emulator, client: replicate.Client) -> None:
    emu.add_fault(Fault("create", status=500, match=lambda body: body["input"]["prompt"] == "bad"))
    emu.add_fault(Fault("create", status=502, times=2))
    statuses = []
    for prompt in ["ok", "bad", "bad"]:
        with pytest.raises(ReplicateError) as failed:
            client.run("acme/echo", input={"prompt": prompt})
        statuses.append(failed.value.status)
    assert statuses == [502, 500, 502]
    assert emu.pending_faults() == []
    assert client.run("acme/echo", input={"prompt": "bad"}) == "bad"
    assert emu.creates_with({"prompt": "bad"}) == 3


def test_get_faults_retried_aborted_and_garbage(emu: Emulator, client: replicate.Client) -> None:
    prediction = client.models.predictions.create("acme/echo", input={"prompt": "x"}, wait=True)
    emu.add_fault(Fault("get", status=503, headers={"Retry-After": "0"}))
    assert client.predictions.get(prediction.id).status == "succeeded"  # the client retries GETs
    assert emu.count("get") == 2

    emu.add_fault(Fault("get", garbage=True))
    with pytest.raises(ValueError):
        client.predictions.get(prediction.id)

    started = client.models.predictions.create("acme/echo", input={"prompt": "x", "seconds": 100})
    emu.add_fault(Fault("get", prediction_status="aborted", match=lambda r: started.id in r["path"]))
    with pytest.raises(Exception, match="status"):  # 1.0.7's Literal rejects `aborted`
        client.predictions.get(started.id)
    assert raw(emu, "GET", f"/v1/predictions/{started.id}").json()["status"] == "aborted"
    assert emu.predictions[started.id].status == "aborted"


def test_wrong_token_is_401(emu: Emulator, make_client: Callable[..., replicate.Client]) -> None:
    with pytest.raises(ReplicateError) as denied:
        make_client(token="r8_wrong").run("acme/echo", input={"prompt": "x"})
    assert (denied.value.status, denied.value.title) == (401, "Unauthenticated")
    response = raw(emu, "GET", "/v1/models/acme/echo", headers={"Authorization": f"Token {TOKEN}"})
    assert response.status_code == 200  # `Token` works as well as `Bearer`
    anonymous = raw(emu, "GET", "/v1/models/acme/echo", headers={"Authorization": ""})
    assert anonymous.status_code == 401
    assert anonymous.headers["content-type"] == "application/problem+json"


def test_invalid_input_is_422_with_invalid_fields(emu: Emulator, client: replicate.Client) -> None:
    with pytest.raises(ReplicateError) as invalid:
        client.run("acme/echo", input={"repeat": 9})
    assert (invalid.value.status, invalid.value.title) == (422, "Input validation failed")

    version = version_of(emu, "acme/imagegen")
    bad = {"num_outputs": "2", "scheduler": "FAST", "seed": 1.5, "guidance_scale": 0, "extra": 1}
    body = raw(emu, "POST", "/v1/predictions", json={"version": version, "input": bad}).json()
    kinds = {f["field"]: f["type"] for f in body["invalid_fields"]}
    assert kinds == {
        "num_outputs": "invalid_type",
        "scheduler": "enum",
        "seed": "invalid_type",
        "guidance_scale": "number_gte",
        "extra": "additional_property_not_allowed",
    }
    missing = raw(emu, "POST", "/v1/models/acme/echo/predictions", json={"input": {}}).json()
    assert missing["invalid_fields"] == [
        {"type": "required", "field": "prompt", "description": "prompt is required"}
    ]
    assert emu.predictions == {}


def test_unknown_version_is_422(client: replicate.Client) -> None:
    with pytest.raises(ReplicateError) as unknown:
        client.run(f"acme/echo:{'f' * 64}", input={"prompt": "x"})
    assert (unknown.value.status, unknown.value.title) == (422, "Invalid version or not permitted")


# -- cancel, Cancel-After and listing ----------------------------------------------------------------


def test_cancel_stops_a_running_prediction(emu: Emulator, client: replicate.Client) -> None:
    prediction = client.models.predictions.create("acme/echo", input={"prompt": "x", "seconds": 100})
    prediction.cancel()
    assert prediction.status == "canceled"
    assert client.predictions.get(prediction.id).status == "canceled"
    assert emu.cancels == [prediction.id]
    assert emu.predictions[prediction.id].canceled_by_request


def test_cancel_after_header_cancels_on_its_own(
    emu: Emulator, make_client: Callable[..., replicate.Client]
) -> None:
    client = make_client(headers={"Cancel-After": "1m30s"})  # 90 s of model time: 0.9 s here
    emu.time_scale = 0.001
    prediction = client.models.predictions.create("acme/echo", input={"prompt": "x", "seconds": 3600})
    wait_for(lambda: client.predictions.get(prediction.id).status == "canceled")
    state = emu.predictions[prediction.id]
    assert state.cancel_after == "1m30s" and not state.canceled_by_request
    assert emu.cancels == []


@pytest.mark.parametrize(
    ("text", "seconds"), [("30s", 30), ("5m", 300), ("1m30s", 90), ("250ms", 0.25), ("12", 12), ("1h", 3600)]
)
def test_go_durations(text: str, seconds: float) -> None:
    assert parse_go_duration(text) == pytest.approx(seconds)


def test_bad_durations_are_rejected() -> None:
    assert parse_go_duration("soon") is None and parse_go_duration("5x") is None


def test_list_is_newest_first_and_paginates(emu: Emulator, client: replicate.Client) -> None:
    emu.page_size = 2
    version = version_of(emu, "acme/json")
    ids = [client.predictions.create(version=version, input={"text": str(i)}).id for i in range(5)]
    first = client.predictions.list()
    assert first.previous is None and first.next is not None and "cursor=" in first.next
    assert [p.id for page in paginate(client.predictions.list) for p in page] == ids[::-1]
    second = client.predictions.list(first.next)
    assert [p.id for p in client.predictions.list(str(second.previous))] == [p.id for p in first]


def test_requests_are_recorded(emu: Emulator, client: replicate.Client) -> None:
    client.run("acme/echo", input={"prompt": "x"})
    [create] = [r for r in emu.requests if r.endpoint == "create"]
    assert create.body == {"input": {"prompt": "x"}}
    assert create.headers["authorization"] == f"Bearer {TOKEN}"
    assert create.headers["prefer"] == "wait"
    assert emu.count("create", match=lambda body: body["input"]["prompt"] == "x") == 1


# -- deployments -------------------------------------------------------------------------------------


@pytest.fixture
def private_echo(emu: Emulator) -> ModelDef:
    """A community copy of acme/echo, deployed as `acme/echo-prod` (1 to 3 instances)."""
    model = dataclasses.replace(
        emu.models["acme/echo"], name="private-echo", official=False, accepts_version=None, version_id=None
    )
    emu.add_deployment("acme", "echo-prod", model, hardware="gpu-l40s", min_instances=1, max_instances=3)
    return model


def test_a_deployment_reads_like_the_api_reference(
    emu: Emulator, client: replicate.Client, private_echo: ModelDef
) -> None:
    deployment = client.deployments.get("acme/echo-prod")
    assert (deployment.owner, deployment.name) == ("acme", "echo-prod")
    release = deployment.current_release
    assert release is not None
    assert (release.number, release.model, release.version) == (
        1,
        "acme/private-echo",
        private_echo.version_id,
    )
    config = release.configuration
    assert (config.hardware, config.min_instances, config.max_instances) == ("gpu-l40s", 1, 3)
    assert release.created_by is not None and release.created_by.username == "acme"

    body = raw(emu, "GET", "/v1/deployments/acme/echo-prod").json()
    assert list(body) == ["owner", "name", "current_release"]  # the reference's example, key for key
    assert list(body["current_release"]) == [
        "number",
        "model",
        "version",
        "created_at",
        "created_by",
        "configuration",
    ]
    assert list(body["current_release"]["created_by"]) == [
        "type",
        "username",
        "name",
        "avatar_url",
        "github_url",
    ]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", body["current_release"]["created_at"])
    assert emu.count("deployment") == 2


def test_an_unknown_deployment_is_404_and_creates_nothing(emu: Emulator, client: replicate.Client) -> None:
    with pytest.raises(ReplicateError) as missing:
        client.deployments.get("acme/nope")
    assert missing.value.status == 404
    answer = raw(emu, "GET", "/v1/deployments/acme/nope")
    assert answer.json() == {"detail": "Not found.", "status": 404}  # no title, like the recorded 404
    assert answer.headers["content-type"] == "application/problem+json"

    with pytest.raises(ReplicateError) as refused:
        client.deployments.predictions.create("acme/nope", input={"prompt": "x"})
    assert refused.value.status == 404
    assert refused.value.detail == "The requested resource could not be found."
    assert emu.predictions == {}


def test_deployment_predictions_run_the_release_and_report_it(
    emu: Emulator, client: replicate.Client, private_echo: ModelDef
) -> None:
    prediction = client.deployments.predictions.create("acme/echo-prod", input={"prompt": "hi"}, wait=True)
    assert (prediction.status, prediction.output) == ("succeeded", "hi")
    assert (prediction.model, prediction.version) == ("acme/private-echo", private_echo.version_id)
    [create] = [r for r in emu.requests if r.endpoint == "create"]
    assert create.path == "/v1/deployments/acme/echo-prod/predictions"
    assert create.body == {"input": {"prompt": "hi"}} and create.headers["prefer"] == "wait"
    body = raw(emu, "GET", f"/v1/predictions/{prediction.id}").json()
    assert body["deployment"] == "acme/echo-prod"  # the OpenAPI spec's `deployment` field
    client.models.predictions.create("acme/echo", input={"prompt": "x"})
    newest = raw(emu, "GET", "/v1/predictions").json()["results"][0]
    assert newest["model"] == "acme/echo" and "deployment" not in newest  # only deployment predictions

    answer = raw(
        emu,
        "POST",
        "/v1/deployments/acme/echo-prod/predictions",
        json={"input": {"prompt": "late", "seconds": 100}},
        headers={"Prefer": "wait=1"},
    )
    assert answer.status_code == 201 and answer.headers["Preference-Applied"] == "wait=1"
    assert answer.json()["status"] in ("starting", "processing")

    invalid = raw(emu, "POST", "/v1/deployments/acme/echo-prod/predictions", json={"input": {"repeat": 9}})
    assert invalid.status_code == 422
    assert {f["field"] for f in invalid.json()["invalid_fields"]} == {"prompt", "repeat"}
    with_version = {"version": private_echo.version_id, "input": {"prompt": "x"}}
    assert (
        raw(emu, "POST", "/v1/deployments/acme/echo-prod/predictions", json=with_version).status_code == 422
    )


def test_a_new_release_applies_to_later_predictions_only(
    emu: Emulator, client: replicate.Client, private_echo: ModelDef
) -> None:
    running = client.deployments.predictions.create("acme/echo-prod", input={"prompt": "old", "seconds": 30})
    shouting = dataclasses.replace(
        private_echo, version_id="e" * 64, predict=lambda inputs, ctx: inputs["prompt"].upper()
    )
    release = emu.update_deployment("acme", "echo-prod", shouting)
    assert (release.number, release.hardware, release.min_instances, release.max_instances) == (
        2,
        "gpu-l40s",
        1,
        3,
    )

    later = client.deployments.predictions.create("acme/echo-prod", input={"prompt": "new"}, wait=True)
    assert (later.output, later.version) == ("NEW", "e" * 64)
    running.wait()
    assert (running.output, running.version) == ("old", private_echo.version_id)
    current = client.deployments.get("acme/echo-prod").current_release
    assert current is not None and (current.number, current.version) == (2, "e" * 64)
    # Only the configuration changes: a new release on the same version.
    assert emu.update_deployment("acme", "echo-prod", max_instances=10).model_def is shouting
    assert client.deployments.get("acme/echo-prod").current_release.number == 3  # type: ignore[union-attr]


def test_deployment_creates_share_faults_throttling_and_cancel_after(
    emu: Emulator, make_client: Callable[..., replicate.Client], private_echo: ModelDef
) -> None:
    client = make_client()
    emu.add_fault(Fault("create", status=429, path="/v1/deployments/"))
    assert client.models.predictions.create("acme/echo", input={"prompt": "x"}).status == "starting"
    with pytest.raises(ReplicateError) as throttled:
        client.deployments.predictions.create("acme/echo-prod", input={"prompt": "x"})
    assert throttled.value.status == 429 and emu.pending_faults() == []

    emu.create_rate_limit_per_min = 0  # an exhausted account
    with pytest.raises(ReplicateError) as limited:
        client.deployments.predictions.create("acme/echo-prod", input={"prompt": "x"})
    assert limited.value.status == 429
    emu.create_rate_limit_per_min = None

    emu.time_scale = 0.001
    canceling = make_client(headers={"Cancel-After": "5s"})
    prediction = canceling.deployments.predictions.create(
        "acme/echo-prod", input={"prompt": "x", "seconds": 3600}
    )
    wait_for(lambda: client.predictions.get(prediction.id).status == "canceled")
    assert emu.predictions[prediction.id].cancel_after == "5s"


# -- official models and models without a version -----------------------------------------------------

# The top-level keys of a real sync create on an official model, in order (replicate-python cassette
# test_models_predictions_create_blocking[True-True].yaml, meta/meta-llama-3-8b-instruct, 2024-10).
RECORDED_OFFICIAL_SYNC_CREATE_KEYS = [
    "id",
    "model",
    "version",
    "input",
    "logs",
    "output",
    "data_removed",
    "error",
    "status",
    "created_at",
    "urls",
]


def test_an_official_model_refuses_version_creates(emu: Emulator, client: replicate.Client) -> None:
    schnell = emu.add_model(official_image_model())
    version = str(schnell.version_id)
    for named in (version, f"acme/schnell:{version}"):
        refused = raw(emu, "POST", "/v1/predictions", json={"version": named, "input": {"prompt": "x"}})
        assert refused.status_code == 422
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.json() == {  # the reference's body for exactly this answer
            "title": "Invalid version or not permitted",
            "detail": "The specified version does not exist (or perhaps you don't have permission"
            " to use it?)",
            "status": 422,
        }
    with pytest.raises(ReplicateError) as by_version:
        client.run(f"acme/schnell:{version}", input={"prompt": "x"})
    assert (by_version.value.status, by_version.value.title) == (422, "Invalid version or not permitted")
    assert emu.predictions == {}

    # Its model GET still carries the schema, so inputs can be checked before anything runs.
    model = client.models.get("acme/schnell")
    assert model.latest_version is not None and model.latest_version.id == version
    prediction = client.models.predictions.create(
        "acme/schnell", input={"prompt": "x", "num_outputs": 2}, wait=True
    )
    assert prediction.status == "succeeded" and len(prediction.output) == 2
    assert re.fullmatch(r"dp-[0-9a-f]{32}", prediction.version) and prediction.version != version
    by_name = raw(emu, "POST", "/v1/predictions", json={"version": "acme/schnell", "input": {"prompt": "y"}})
    assert by_name.status_code == 201 and by_name.json()["version"] == prediction.version


def test_an_official_sync_create_has_the_recorded_shape(emu: Emulator) -> None:
    quirky = dataclasses.replace(official_image_model(), sync_reports_processing=True)
    emu.add_model(quirky)
    answer = raw(
        emu,
        "POST",
        "/v1/models/acme/schnell/predictions",
        json={"input": {"prompt": "x"}},
        headers={"Prefer": "wait"},
    )
    assert answer.status_code == 201 and answer.headers["Preference-Applied"] == "wait"
    body = answer.json()
    assert list(body) == RECORDED_OFFICIAL_SYNC_CREATE_KEYS
    assert body["status"] == "processing" and body["data_removed"] is False
    assert body["version"].startswith("dp-") and body["model"] == "acme/schnell"


def test_echo_and_llm_are_official_models_that_also_take_versions(
    emu: Emulator, client: replicate.Client
) -> None:
    pinned = client.predictions.create(version=version_of(emu, "acme/echo"), input={"prompt": "x"}, wait=True)
    assert pinned.version == version_of(emu, "acme/echo")  # a version create reports that version
    by_name = client.models.predictions.create("acme/echo", input={"prompt": "x"}, wait=True)
    assert by_name.version.startswith("dp-")


# A real model GET for a model never pushed (replicate-python cassette models-get.yaml, 2023-11).
RECORDED_EMPTY_MODEL = {
    "url": "https://replicate.com/mattt/empty",
    "owner": "mattt",
    "name": "empty",
    "description": None,
    "visibility": "public",
    "github_url": None,
    "paper_url": None,
    "license_url": None,
    "run_count": 0,
    "cover_image_url": None,
    "default_example": None,
    "latest_version": None,
}


def test_a_model_never_pushed_has_no_version_and_cannot_run(emu: Emulator, client: replicate.Client) -> None:
    empty = emu.add_model(unpushed_model())
    answer = raw(emu, "GET", "/v1/models/mattt/empty")
    assert answer.json() == RECORDED_EMPTY_MODEL and list(answer.json()) == list(RECORDED_EMPTY_MODEL)
    assert answer.headers["content-type"] == "application/json"
    assert answer.headers["ratelimit-remaining"] == "2999"
    assert client.models.get("mattt/empty").latest_version is None

    with pytest.raises(ReplicateError) as by_name:
        client.models.predictions.create("mattt/empty", input={})
    assert by_name.value.status == 404
    refused = raw(emu, "POST", "/v1/models/mattt/empty/predictions", json={"input": {}})
    assert refused.json() == {"detail": "The requested resource could not be found.", "status": 404}
    for named in (str(empty.version_id), "mattt/empty"):
        body = {"version": named, "input": {}}
        assert raw(emu, "POST", "/v1/predictions", json=body).status_code == 422
    assert raw(emu, "GET", f"/v1/models/mattt/empty/versions/{empty.version_id}").status_code == 404
    with pytest.raises(ValueError, match="never pushed"):
        emu.add_deployment("mattt", "empty-prod", empty)
    assert emu.predictions == {}


# -- metrics -----------------------------------------------------------------------------------------


def test_a_language_model_reports_token_metrics(emu: Emulator, client: replicate.Client) -> None:
    prediction = client.models.predictions.create("acme/llm", input={"prompt": "one two three"}, wait=True)
    metrics = prediction.metrics
    assert metrics is not None
    assert list(metrics) == [  # sorted, as the API sends them
        "input_token_count",
        "output_token_count",
        "predict_time",
        "time_to_first_token",
        "tokens_per_second",
        "total_time",
    ]
    # A word is a token: the prompt's 3 and the default system prompt's 5.
    assert (metrics["input_token_count"], metrics["output_token_count"]) == (8, 3)
    assert 0 < metrics["time_to_first_token"] < metrics["predict_time"] <= metrics["total_time"]
    assert metrics["tokens_per_second"] == round(3 / metrics["predict_time"], 6)
    assert client.predictions.get(prediction.id).metrics == metrics  # fixed once it ended


def test_image_models_report_image_count_and_others_only_timings(
    emu: Emulator, client: replicate.Client
) -> None:
    ref = f"acme/imagegen:{version_of(emu, 'acme/imagegen')}"
    client.run(ref, input={"prompt": "cat", "num_outputs": 3})
    json_ref = f"acme/json:{version_of(emu, 'acme/json')}"
    client.run(json_ref, input={"text": "a"})
    mixed_ref = f"acme/mixed:{version_of(emu, 'acme/mixed')}"
    client.run(mixed_ref, input={"prompt": "dog"})
    metrics = {s.model_def.name: client.predictions.get(s.id).metrics for s in emu.predictions.values()}
    assert metrics["imagegen"] is not None and metrics["imagegen"]["image_count"] == 3
    assert set(metrics["imagegen"]) == {"image_count", "predict_time", "total_time"}
    assert metrics["mixed"] is not None and metrics["mixed"]["image_count"] == 1
    assert metrics["json"] is not None and set(metrics["json"]) == {"predict_time", "total_time"}


def test_metrics_can_be_set_exactly(emu: Emulator, client: replicate.Client) -> None:
    fixed = dataclasses.replace(
        emu.models["acme/llm"],
        name="fixed",
        version_id=None,
        metrics={"predict_time": 1.25, "time_to_first_token": 0.5, "total_time": None, "batch_size": 1},
    )
    emu.add_model(fixed)
    prediction = client.models.predictions.create("acme/fixed", input={"prompt": "a b"}, wait=True)
    assert prediction.metrics == {
        "batch_size": 1,
        "input_token_count": 7,
        "output_token_count": 2,
        "predict_time": 1.25,
        "time_to_first_token": 0.5,
        "tokens_per_second": 1.6,  # from the given predict_time
    }

    def count_words(inputs: dict[str, Any], output: Any) -> dict[str, Any]:
        return {"input_token_count": len(inputs["text"]), "predict_time": 0.1, "total_time": 0.2}

    emu.add_model(
        dataclasses.replace(emu.models["acme/json"], name="counted", version_id=None, metrics=count_words)
    )
    counted = client.predictions.create(
        version=str(emu.models["acme/counted"].version_id), input={"text": "abcd"}, wait=True
    )
    assert counted.metrics == {"input_token_count": 4, "predict_time": 0.1, "total_time": 0.2}

    # Only a success reports them: a failed prediction has its timings alone.
    failing = dataclasses.replace(
        emu.models["acme/echo"], name="failing", version_id=None, metrics={"extra": 1}
    )
    emu.add_model(failing)
    with pytest.raises(ModelError) as failed:
        client.run("acme/failing", input={"prompt": "x", "fail": True})
    assert set(failed.value.prediction.metrics or {}) == {"predict_time", "total_time"}
