"""The model server's HTTP face, on a real uvicorn server on a free loopback port.

MLflow's scoring app around a real tiny text-generation model, wrapped by cubeops: /health,
request caps, timeout, bearer auth, and error bodies as JSON without a stack trace.
"""

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace

import pytest
import requests

from flows.serving.app import ServingApp
from flows.serving.settings import ServerSettings
from tests.helpers import free_port, wait_http

SETTINGS = ServerSettings(
    model_name="acme-support-bot", version="3", model_uri="models:/acme-support-bot/3", run_id="r" * 32,
    data_digest="d" * 64, host="127.0.0.1", port=0, max_prompt_chars=50, max_new_tokens=8, default_new_tokens=4,
    request_timeout=30.0, token_env=None, state_file="unused",
)


@pytest.fixture(scope="module")
def pyfunc_model(saved_models):
    """The tiny model as MLflow's pyfunc, loaded once for the module."""
    import mlflow.pyfunc

    return mlflow.pyfunc.load_model(str(saved_models.tiny_pyfunc_dir))


@contextmanager
def serving(model, settings: ServerSettings = SETTINGS, environ: dict | None = None, default_new_tokens=None) -> Iterator[str]:
    """Serve the wrapped scoring app with uvicorn on a free port (in a thread); yields the base URL."""
    import uvicorn
    from mlflow.pyfunc import scoring_server

    app = ServingApp(scoring_server.init(model), settings, environ=environ or {}, default_new_tokens=default_new_tokens)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{url}/ping", timeout=30, ok=(200, 401))
        yield url
    finally:
        server.should_exit = True
        thread.join(10)


@pytest.fixture(scope="module")
def server(pyfunc_model) -> Iterator[str]:
    """One open server for the module's read-only checks."""
    with serving(pyfunc_model) as url:
        yield url


def _invoke(url: str, body, **kw) -> requests.Response:
    if isinstance(body, (bytes, str)):
        return requests.post(f"{url}/invocations", data=body, headers={"Content-Type": "application/json"}, timeout=30, **kw)
    return requests.post(f"{url}/invocations", json=body, timeout=30, **kw)


def test_health_says_which_version_is_served(server):
    body = requests.get(f"{server}/health", timeout=5).json()
    assert {k: body[k] for k in ("status", "model", "version", "run_id", "data_digest")} == {
        "status": "ok", "model": "acme-support-bot", "version": "3", "run_id": "r" * 32, "data_digest": "d" * 64,
    }
    assert body["uptime_s"] >= 0 and body["limits"]["max_new_tokens"] == 8


def test_invocations_stay_mlflow_compatible(server):
    from mlflow.pyfunc.scoring_server.client import ScoringServerClient

    resp = _invoke(server, {"inputs": ["The data team"], "params": {"max_new_tokens": 3}})
    assert resp.status_code == 200
    (completion,) = resp.json()["predictions"]
    assert completion.startswith("The data team")
    host, port = server.rsplit("/", 1)[1].split(":")
    client = ScoringServerClient(host, int(port))
    assert client.get_version()  # MLflow's own endpoints pass through
    out = client.invoke(["Our support desk"], params={"max_new_tokens": 2})
    assert out.get_predictions().iloc[0, 0].startswith("Our support desk")


@pytest.mark.parametrize(
    ("body", "status", "says"),
    [
        (b"{not json", 400, "not valid JSON: Expecting property name enclosed in double quotes at line 1 column 2"),
        (b"[1, 2]", 400, "must be a JSON object"),
        ({"inputs": ["x" * 51]}, 400, "a prompt of 51 characters exceeds serving.max_prompt_chars (50)"),
        ({"dataframe_split": {"columns": ["p"], "data": [["y" * 60]]}}, 400, "exceeds serving.max_prompt_chars (50)"),
        ({"inputs": ["hi"], "params": {"max_new_tokens": 9}}, 400, "max_new_tokens 9 exceeds serving.max_new_tokens (8)"),
        ({"prompt": "hi", "max_tokens": 100}, 400, "max_tokens 100 exceeds serving.max_new_tokens (8)"),
        ({"inputs": ["hi"], "params": {"max_new_tokens": "many"}}, 400, "params.max_new_tokens must be an integer"),
        ({"inputs": ["hi"], "params": {"do_sample": "perhaps"}}, 400, "do_sample"),  # refused by MLflow itself
        ({"nothing": "here"}, 400, ""),  # refused by MLflow itself
    ],
)
def test_bad_requests_get_a_4xx_json_error_without_a_traceback(server, body, status, says):
    resp = _invoke(server, body)
    assert resp.status_code == status
    err = resp.json()
    assert set(err) == {"error_code", "message"}
    assert says in err["message"]
    assert "Traceback" not in resp.text and "stack_trace" not in resp.text and 'File "' not in resp.text


def test_a_model_that_fails_inside_generate_answers_without_its_traceback(saved_models, tmp_path):
    import mlflow.pyfunc
    import mlflow.transformers
    from mlflow.pyfunc import scoring_server
    from starlette.testclient import TestClient

    from tests.registry.builders import REQUIREMENTS, signature

    path = tmp_path / "broken"
    mlflow.transformers.save_model(
        transformers_model={"model": saved_models.broken.model, "tokenizer": saved_models.broken.tokenizer},
        path=str(path), task="text-generation", signature=signature(), pip_requirements=REQUIREMENTS,
    )
    broken = mlflow.pyfunc.load_model(str(path))  # 4 positions: generating past them raises IndexError
    body = {"inputs": ["The data team"], "params": {"max_new_tokens": 8}}
    stock = TestClient(scoring_server.init(broken)).post("/invocations", json=body)
    assert "Traceback (most recent call last)" in stock.json()["stack_trace"]  # what MLflow alone returns

    with serving(broken) as url:
        resp = _invoke(url, body)
    assert resp.status_code == 400
    assert resp.json() == {"error_code": "BAD_REQUEST", "message": stock.json()["message"]}
    assert "Traceback" not in resp.text and "stack_trace" not in resp.text


def test_other_paths_and_media_types_are_json_errors(server):
    resp = requests.get(f"{server}/docs", timeout=5)
    assert resp.status_code == 404 and resp.json()["error_code"] == "ENDPOINT_NOT_FOUND"
    resp = requests.get(f"{server}/invocations", timeout=5)
    assert resp.status_code == 405 and "POST /invocations" in resp.json()["message"]
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    resp = requests.post(f"{server}/invocations", data=b"x", headers=form, timeout=5)
    assert resp.status_code == 415 and "application/json" in resp.json()["message"]


def test_a_request_that_names_no_length_gets_the_servers_default(server, pyfunc_model):
    def complete(url, **params):
        body = {"inputs": ["Our support desk"], "params": {"do_sample": False, **params}}
        return _invoke(url, body).json()["predictions"][0]

    two, eight = complete(server, max_new_tokens=2), complete(server, max_new_tokens=8)
    assert two != eight  # the model's own default (8, from its signature) would be visible
    with serving(pyfunc_model, default_new_tokens=2) as url:
        assert complete(url) == two
        assert complete(url, max_new_tokens=8) == eight  # a request that names one keeps it


def test_a_request_longer_than_the_timeout_gets_504(pyfunc_model):
    slow = replace(SETTINGS, request_timeout=0.001, max_new_tokens=200)
    with serving(pyfunc_model, slow) as url:
        resp = _invoke(url, {"inputs": ["The data team"] * 8, "params": {"max_new_tokens": 200}})
        assert resp.status_code == 504
        assert resp.json() == {
            "error_code": "REQUEST_TIMEOUT",
            "message": "the request ran longer than serving.request_timeout (0.001s)",
        }
        # The server is still there for the next client.
        assert requests.get(f"{url}/health", timeout=5).status_code == 200


def test_bearer_auth_when_configured(pyfunc_model):
    guarded = replace(SETTINGS, token_env="CUBEOPS_SERVING_TOKEN")
    with serving(pyfunc_model, guarded, environ={"CUBEOPS_SERVING_TOKEN": "s3cret-token"}) as url:
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic s3cret-token"}):
            resp = requests.get(f"{url}/health", headers=headers, timeout=5)
            assert resp.status_code == 401 and resp.json()["error_code"] == "UNAUTHENTICATED"
            assert resp.headers["www-authenticate"] == "Bearer"
        ok = {"Authorization": "Bearer s3cret-token"}
        assert requests.get(f"{url}/health", headers=ok, timeout=5).json()["version"] == "3"
        assert _invoke(url, {"inputs": ["hi"]}, headers=ok).status_code == 200


def test_auth_without_its_token_refuses_to_build():
    from flows.errors import ServingError

    with pytest.raises(ServingError, match="CUBEOPS_SERVING_TOKEN is empty or unset"):
        ServingApp(lambda *a: None, replace(SETTINGS, token_env="CUBEOPS_SERVING_TOKEN"), environ={})


def test_uptime_comes_from_the_clock_it_is_given():
    now = [100.0]
    app = ServingApp(lambda *a: None, SETTINGS, environ={}, clock=lambda: now[0])
    now[0] = 142.5
    assert app.health()["uptime_s"] == 42.5
