"""The project page: each tab drawn from a real run, charts holding the logged points, access rules."""

import base64
import re
import time
import xml.etree.ElementTree as ET
from datetime import timedelta

import pytest
import requests

from status.charts import Series, bar_chart, line_chart
from status.model import ProjectInfo, StatusUpdate
from status.store import StatusStore
from status.tokens import READ, WRITE, create_token, list_tokens
from tests.status.conftest import PRIVATE_INFO, PUBLIC_INFO
from tests.status.real_run import PROJECT, real_run, serving_store  # noqa: F401 - fixture

SVG = "{http://www.w3.org/2000/svg}"
HTML = {"Accept": "text/html,application/xhtml+xml"}


def panel(html: str, tab: str) -> str:
    """The HTML of one tab's panel."""
    m = re.search(rf'<section id="tab-{tab}" class="([^"]*)">(.*?)</section>', html, re.S)
    assert m, f"no {tab} panel"
    return m.group(2)


def current_tab(html: str) -> str:
    """The tab the page opens on."""
    return re.search(r'<section id="tab-(\w+)" class="panel current">', html).group(1)


def charts(fragment: str) -> dict[str, ET.Element]:
    """Every chart of a fragment, by title."""
    found = {}
    for svg in re.findall(r'<svg xmlns="http://www.w3.org/2000/svg" class="chart".*?</svg>', fragment, re.S):
        root = ET.fromstring(svg)
        found[root.get("aria-label")] = root
    return found


def points(chart: ET.Element, series: str) -> list[list[float]]:
    """The [x, y] of each point drawn for ``series``."""
    return [
        [float(c.get("data-x")), float(c.get("data-y"))]
        for c in chart.iter(f"{SVG}circle")
        if c.get("data-series") == series
    ]


# -- charts (pure) --------------------------------------------------------------------------------


def test_line_chart_draws_each_point_where_its_value_says():
    loss = [[1, 5.8], [2, 5.6], [3, 5.65], [4, float("nan")], [5, 5.1]]
    svg = line_chart([Series("training loss", loss)], title="Loss", y_label="loss")
    root = ET.fromstring(svg)
    circles = [c for c in root.iter(f"{SVG}circle")]
    assert [[float(c.get("data-x")), float(c.get("data-y"))] for c in circles] == [[1, 5.8], [2, 5.6], [3, 5.65], [5, 5.1]]
    xs = [float(c.get("cx")) for c in circles]
    ys = [float(c.get("cy")) for c in circles]
    assert xs == sorted(xs) and len(set(xs)) == 4, "later steps are further right"
    # SVG y grows downwards: a higher loss is drawn higher up.
    assert ys[0] < ys[2] < ys[1] < ys[3]
    series_lines = [p for p in root.iter(f"{SVG}polyline") if p.get("class") == "series"]
    assert len(series_lines) == 1 and len(series_lines[0].get("points").split()) == 4


def test_bar_chart_and_empty_charts():
    root = ET.fromstring(bar_chart(["1–1", "2–3", "4–7"], [3, 0, 12], title="Lengths"))
    bars = [r for r in root.iter(f"{SVG}rect") if r.get("class") == "bar"]
    assert [float(b.get("data-value")) for b in bars] == [3, 0, 12]
    heights = [float(b.get("height")) for b in bars]
    assert heights[1] == 0 and heights[2] > heights[0] > 0
    empty = ET.fromstring(line_chart([Series("loss", [])], title="Loss"))
    assert "no data yet" in "".join(empty.itertext())


# -- the page of a real run -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pages(real_run):  # noqa: F811 - the fixture imported above
    """Each tab of the real run's page as the status server answers it, with the badges it serves."""
    with serving_store(real_run.layout.status_store) as served:
        got = {
            tab: requests.get(f"{served.url}/{PROJECT}", params={"tab": tab}, headers=HTML, timeout=30)
            for tab in ("Dataset", "Training", "Deployment", "bogus")
        }
        badges = {s: requests.get(f"{served.url}/badge/{PROJECT}/{s}.svg", timeout=10).content for s in ("data", "train", "serving")}
    store = StatusStore(real_run.layout.status_store)
    current = store.current(PROJECT)
    store.close()
    return got, badges, current


def test_every_tab_shows_the_three_badges_the_server_serves(pages):
    got, badges, _ = pages
    for tab, r in got.items():
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
        assert r.headers["referrer-policy"] == "no-referrer"
        assert "'none'" in r.headers["content-security-policy"] and "script-src" not in r.headers["content-security-policy"]
        uris = re.findall(r'<img alt="(\w+ Status)" src="data:image/svg\+xml;base64,([^"]+)"', r.text)
        assert [alt for alt, _ in uris] == ["Data Status", "Training Status", "Serving Status"]
        assert [base64.b64decode(b) for _, b in uris] == [badges["data"], badges["train"], badges["serving"]]
        assert 'href="http' not in r.text.split("<main")[0], "the page needs nothing from the network"
    assert [current_tab(got[t].text) for t in ("Dataset", "Training", "Deployment", "bogus")] == [
        "Dataset", "Training", "Deployment", "Dataset"
    ]


def test_dataset_tab_shows_the_published_dataset(pages):
    got, _, current = pages
    d = current["data"].details
    html = panel(got["Dataset"].text, "Dataset")
    assert "ready" in html and d["digest"] in html
    f = d["filters"]
    assert f["min_chars"] == 1 and f["duplicates"] == 2, "the corpus has one short document and two duplicates"
    for label, value in (
        ("Documents read", f["read"]),
        ("Removed: shorter than min_chars", 1),
        ("Removed: duplicates", 2),
        ("Documents kept", d["documents"]["kept"]),
        ("Tokens kept (in blocks)", d["tokens"]["kept"]),
        ("Tokens removed (block remainders)", d["tokens"]["removed"]),
    ):
        assert f'<th>{label}</th><td class="n">{value:,}</td>' in html
    (hist,) = charts(html).values()
    bars = [r for r in hist.iter(f"{SVG}rect") if r.get("class") == "bar"]
    assert [int(float(b.get("data-value"))) for b in bars] == d["length_histogram"]["counts"]
    assert sum(d["length_histogram"]["counts"]) == d["documents"]["kept"]
    from html import escape

    assert escape(d["sample"][0]) in html
    assert "preparing" in html, "the history shows the state before ready"


def test_training_tab_charts_hold_the_logged_curves(pages, real_run):  # noqa: F811
    got, _, current = pages
    t = current["train"].details
    html = panel(got["Training"].text, "Training")
    drawn = charts(html)
    assert points(drawn["Loss"], "training loss") == t["loss_curve"]
    assert points(drawn["Loss"], "validation loss") == t["eval_loss_curve"]
    assert points(drawn["Perplexity"], "validation perplexity") == t["perplexity_curve"]
    assert len(t["loss_curve"]) == 12, "one training loss per step"
    assert f"{t['metrics']['perplexity']:.4g}" in html
    assert "<th>learning_rate</th><td><code>0.006</code></td>" in html
    assert f"v{real_run.results['train'].version}" in html
    links = current["train"].links
    assert f'href="{links["mlflow_run"]}"' in html and "MLflow run" in html
    assert f'href="{links["prefect_flow_run"]}"' in html and "Prefect flow run" in html
    assert "Gate verdict" in html
    for state in ("passing", "training", "queued"):
        assert f">{state}</span>" in html


def test_deployment_tab_shows_the_served_champion_and_how_to_roll_back(pages, real_run):  # noqa: F811
    got, _, current = pages
    html = panel(got["Deployment"].text, "Deployment")
    version = real_run.results["deploy"].version
    assert current["serving"].state == "live"
    assert f"<th>Served version</th><td>v{version}</td>" in html
    assert f"<th>@champion</th><td>v{version}</td>" in html
    assert f'href="{real_run.serving_url}"' in html
    assert "cubeops registry rollback -c cubeops.yaml" in html
    assert "<th>Drift</th><td>no</td>" in html
    assert ">deploying</span>" in html and ">live</span>" in html


# -- access, and what a page must never show ------------------------------------------------------


def test_private_page_needs_a_read_token_and_never_shows_it(status_store, store_url):
    status_store.publish(PRIVATE_INFO, StatusUpdate("acme/secret", "train", "passing", "passing · ppl 9.1"))
    status_store.publish(PUBLIC_INFO, StatusUpdate("acme/bot", "data", "ready", "ready · 3 docs"))
    _, read = create_token(status_store, "acme/secret", READ, "page")
    _, other = create_token(status_store, "acme/bot", READ, "bot")
    _, write = create_token(status_store, "acme/secret", WRITE, "ci")
    with serving_store(store_url) as served:
        page = f"{served.url}/acme/secret"
        refused = [
            requests.get(page, headers=HTML, timeout=10),
            requests.get(page, params={"token": "cubr_not-a-real-token"}, headers=HTML, timeout=10),
            requests.get(page, params={"token": other}, headers=HTML, timeout=10),
            requests.get(f"{served.url}/acme/nothing-here", headers=HTML, timeout=10),
            requests.get(page, params={"token": write}, headers=HTML, timeout=10),
        ]
        assert {r.status_code for r in refused} == {404}
        assert len({r.content for r in refused}) == 1, "a refusal tells nobody whether the project exists"
        assert "ppl 9.1" not in refused[0].text
        api = requests.get(f"{served.url}/acme/nothing-here", timeout=10)
        assert api.status_code == 404 and api.json()["error"]
        opened = requests.get(page, params={"token": read, "tab": "Training"}, headers=HTML, timeout=10)
        bearer = requests.get(page, headers={**HTML, "Authorization": f"Bearer {read}"}, timeout=10)
        public = requests.get(f"{served.url}/acme/bot", headers=HTML, timeout=10)
        revoked = _wait_revoked(status_store, "acme/secret", "ci")
    assert revoked.revoked_at is not None, "a write token in a page URL is revoked as leaked, as on a badge"
    assert opened.status_code == 200 and "9.1" in opened.text and current_tab(opened.text) == "Training"
    assert read not in opened.text and "token=" not in opened.text
    assert opened.headers["cache-control"] == "private, no-store"
    assert bearer.status_code == 200 and read not in bearer.text
    assert public.status_code == 200 and public.headers["cache-control"] == "no-cache"


def _wait_revoked(store, project: str, name: str, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while True:
        record = {r.name: r for r in list_tokens(store, project)}[name]
        if record.revoked_at is not None or time.monotonic() > deadline:
            return record
        time.sleep(0.05)


def test_page_degrades_for_missing_keys_and_escapes_what_was_published(status_store, store_url):
    info = ProjectInfo("acme/bot", "public", timedelta(days=7), timedelta(minutes=2))
    curves = {"version": "4", "loss_curve": [[1, 3.0], [2, 2.5]], "perplexity_curve": [[2, 12.2]], "metrics": {"perplexity": 12.2}}
    status_store.publish(info, StatusUpdate("acme/bot", "train", "passing", "passing · ppl 12.2", details=curves))
    status_store.publish(info, StatusUpdate("acme/bot", "train", "passing", "passing · ppl 12.2", details={"version": "4", "reused": True}))
    status_store.publish(
        info,
        StatusUpdate(
            "acme/bot", "data", "failed", "failed · <script>alert(1)</script>",
            links={"mlflow": "javascript:alert(2)"}, details={"error": "<img src=x onerror=alert(3)>"},
        ),
    )
    with serving_store(store_url) as served:
        r = requests.get(f"{served.url}/acme/bot", params={"tab": "Training"}, headers=HTML, timeout=10)
    assert r.status_code == 200
    dataset, training, deployment = (panel(r.text, t) for t in ("Dataset", "Training", "Deployment"))
    assert "&lt;img src=x onerror=alert(3)&gt;" in dataset and "<img src=x" not in r.text
    assert "<script>" not in r.text and "&lt;script&gt;" in dataset
    assert 'href="javascript' not in r.text, "only http(s) links become links"
    assert "MLflow run <code>javascript:alert(2)</code>" in dataset
    assert "No dataset has been prepared yet." in dataset
    # The reused version published no curves: the page shows those of the last passing event that did.
    assert points(charts(training)["Loss"], "training loss") == [[1, 3.0], [2, 2.5]]
    assert "From the last passing event" in training
    assert ">unknown</span>" in deployment and "No events yet." in deployment
    assert deployment.count("not published") >= 5
