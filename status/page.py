"""The project page: the three badges and one tab per stage (Dataset, Training, Deployment).

Pure: :func:`render_page` turns :class:`status.pagedata.PageData` into one HTML document. Each
tab shows its stage's current state and history and what the stage published (dataset
statistics and a length histogram; loss and perplexity curves, hyperparameters, the gate
verdict and the runs behind them; the served version, health, latency, drift and how to roll
back). Keys a stage did not publish are shown as not published, never as an error.

The document needs nothing from the network: charts are inline SVG (:mod:`status.charts`), styles
are inline, and the tabs switch with CSS ``:target`` (links to ``#tab-…``), so a private page,
opened with a token, never has to write that token into a link. Every published string is
escaped, and only http(s) links become links.
"""

import base64
import hashlib
import math
from collections.abc import Mapping, Sequence
from datetime import datetime
from html import escape
from typing import Any

from status.badge import render_badge, svg_color
from status.charts import PALETTE, Series, bar_chart, format_number, line_chart
from status.markdown import ALT_TEXT
from status.model import LABELS, STAGES, TABS, StageStatus, color_for
from status.pagedata import PageData, StageView
from status.store import WebhookFailure

ROLLBACK_COMMAND = "cubeops registry rollback -c cubeops.yaml"
HISTORY_SHOWN = 10
NOT_PUBLISHED = '<span class="muted">not published</span>'
ON = ' class="on"'

# In a static export no server reads the query string: this shows the tab ?tab=… names (without
# jumping to it, so the badges stay in view).
TAB_SCRIPT = (
    "(function(){var t=new URLSearchParams(location.search).get('tab');"
    "var p=t&&!location.hash&&document.getElementById('tab-'+t);if(!p)return;"
    "document.querySelectorAll('.panel.current').forEach(function(c){c.classList.remove('current');});"
    "p.classList.add('current');})();"
)

STYLE = """
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 -apple-system,BlinkMacSystemFont,"Segoe UI",Helvetica,Arial,sans-serif;color:#1f2328;background:#f6f8fa}
header,main,#notifications,footer{max-width:980px;margin:0 auto;padding:0 20px}
header{padding-top:20px}
h1{font-size:22px;margin:0 0 6px}
h2{font-size:17px;margin:22px 0 8px}
h3{font-size:14px;margin:18px 0 6px}
.visibility{display:inline-block;border:1px solid #d0d7de;border-radius:10px;padding:0 8px;font-size:12px;color:#57606a;vertical-align:middle}
.badges{margin:10px 0 4px;display:flex;gap:8px;flex-wrap:wrap}
.badges img{height:20px;display:block}
.tabs{display:flex;gap:4px;border-bottom:1px solid #d0d7de;margin:14px 0 0}
.tabs a{padding:8px 14px;text-decoration:none;color:#57606a;border:1px solid transparent;border-bottom:none;border-radius:6px 6px 0 0}
.tabs a.on{color:#1f2328;background:#fff;border-color:#d0d7de;margin-bottom:-1px;font-weight:600}
.panel{display:none;background:#fff;border:1px solid #d0d7de;border-top:none;padding:4px 18px 18px;margin-bottom:20px}
.panel.current{display:block}
.panels:has(>.panel:target)>.panel.current:not(:target){display:none}
.panel:target{display:block}
.state{display:inline-block;color:#fff;border-radius:4px;padding:1px 8px;font-weight:600}
table{border-collapse:collapse;margin:4px 0 8px}
td,th{border-bottom:1px solid #eaeef2;padding:4px 12px 4px 0;text-align:left;vertical-align:top}
th{color:#57606a;font-weight:600}
td.n{text-align:right;font-variant-numeric:tabular-nums}
code,pre{font:12px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;background:#f6f8fa;border-radius:4px}
code{padding:1px 4px}
pre{padding:8px 10px;overflow-x:auto}
blockquote{margin:6px 0;padding:4px 10px;border-left:3px solid #d0d7de;color:#57606a}
.charts{display:flex;flex-wrap:wrap;gap:12px}
.chart{border:1px solid #eaeef2;max-width:100%;height:auto}
.muted{color:#8c959f}
.error{color:#cf222e}
footer{color:#8c959f;font-size:12px;padding-bottom:30px}
"""

_LINK_NAMES = {
    "mlflow_run": "MLflow run",
    "mlflow": "MLflow run",
    "prefect_flow_run": "Prefect flow run",
    "prefect": "Prefect flow run",
    "url": "Served model",
    "endpoint": "Served model",
}


# -- small pieces ---------------------------------------------------------------------------------


def _e(value: object) -> str:
    return escape(str(value))


def _dict(value: object) -> dict:
    return value if isinstance(value, dict) else {}


def _list(value: object) -> list:
    return value if isinstance(value, list) else []


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def _count(value: object) -> str:
    n = _number(value)
    if n is None:
        return NOT_PUBLISHED
    return f"{int(n):,}" if n.is_integer() else f"{n:,.4g}"


def _metric(value: object) -> str:
    n = _number(value)
    if n is None:
        return NOT_PUBLISHED
    if not math.isfinite(n):
        return "∞" if n > 0 else _e(n)
    return f"{n:.4g}"


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S UTC") if value else "never"


def _href(url: object) -> str | None:
    if isinstance(url, str) and url.startswith(("http://", "https://")):
        return url
    return None


def link(url: object, text: str | None = None) -> str:
    """An anchor for an http(s) URL (opened without a referrer), the escaped text for anything else."""
    href = _href(url)
    shown = _e(text if text is not None else url)
    if href is None:
        return f"<code>{shown}</code>" if url else NOT_PUBLISHED
    return f'<a href="{escape(href)}" rel="noreferrer noopener" target="_blank">{shown}</a>'


def _rows(rows: Sequence[tuple[str, str]], numeric: bool = False) -> str:
    cls = ' class="n"' if numeric else ""
    body = "".join(f"<tr><th>{_e(k)}</th><td{cls}>{v}</td></tr>" for k, v in rows)
    return f"<table>{body}</table>"


def state_chip(state: str, message: str, color: str) -> str:
    """The stage's state in its badge colour, and its message."""
    fill = svg_color(color) or "#9f9f9f"
    # Badge messages usually begin with the state ("live · v3"): say it once.
    rest = message[len(state) + 3:] if message.startswith(f"{state} · ") else message
    extra = f" · {_e(rest)}" if rest and rest != state else ""
    return f'<span class="state" style="background:{fill}">{_e(state)}</span>{extra}'


def state_changes(history: Sequence[StageStatus], limit: int = HISTORY_SHOWN) -> list[StageStatus]:
    """The history as state changes, newest first: a run of events in one state shows as its latest."""
    out: list[StageStatus] = []
    for event in history:  # newest first: an older event in the same state belongs to the same run
        if out and out[-1].state == event.state:
            continue
        out.append(event)
        if len(out) >= limit:
            break
    return out


def _history(view: StageView) -> str:
    events = state_changes(view.history)
    if not events:
        return '<p class="muted">No events yet.</p>'
    rows = "".join(
        f"<tr><td>{_e(_when(ev.updated_at))}</td><td>{state_chip(ev.state, '', color_for(ev.state))}</td><td>{_e(ev.message)}</td></tr>"
        for ev in events
    )
    return f"<table><tr><th>when</th><th>state</th><th>message</th></tr>{rows}</table>"


def _links(links: Mapping[str, Any]) -> str:
    # An http(s) value becomes a link; any other (a run id, say) is shown as text.
    shown = []
    for name, value in links.items():
        if not value or not isinstance(value, str):
            continue
        label = _LINK_NAMES.get(name, name)
        shown.append(link(value, label) if _href(value) else f"{_e(label)} <code>{_e(value)}</code>")
    return f"<p>{' · '.join(shown)}</p>" if shown else ""


def _header(view: StageView, title: str) -> str:
    when = f' <span class="muted">since {_e(_when(view.since))}</span>' if view.since else ""
    return f"<h2>{_e(title)}</h2><p>{state_chip(view.state, view.message, view.color)}{when}</p>"


def _from_event(event: StageStatus | None, current: StageStatus | None) -> str:
    if event is None or event is current:
        return ""
    return f'<p class="muted">From the last {_e(event.state)} event, {_e(_when(event.updated_at))}.</p>'


def _failure_reason(view: StageView) -> str:
    if view.current is None or view.current.state != "failed":
        return ""
    d = view.current.details
    reason = d.get("reason") or d.get("error")
    return f'<p class="error">{_e(reason)}</p>' if reason else ""


# -- Dataset ------------------------------------------------------------------------------------


def histogram_chart(histogram: Mapping[str, Any]) -> str:
    """The length histogram (power-of-two buckets of characters) as a bar chart."""
    edges = [e for e in _list(histogram.get("edges")) if _number(e) is not None]
    counts = [c for c in _list(histogram.get("counts")) if _number(c) is not None]
    n = min(len(counts), max(0, len(edges) - 1))
    labels = [f"{format_number(edges[i])}–{format_number(edges[i + 1] - 1)}" for i in range(n)]
    return bar_chart(labels, counts[:n], title="Document lengths after cleaning", x_label="characters", y_label="documents")


def dataset_panel(view: StageView) -> str:
    """The Dataset tab."""
    d, event = view.latest_details_with("digest")
    parts = [_header(view, "Dataset"), _failure_reason(view)]
    if not d:
        parts.append('<p class="muted">No dataset has been prepared yet.</p>')
    else:
        parts.append(_from_event(event, view.current))
        sources = _list(d.get("sources"))
        parts.append(
            _rows(
                [
                    ("Version (digest)", f"<code>{_e(d.get('digest'))}</code>"),
                    ("Sources", ", ".join(f"<code>{_e(s)}</code>" for s in sources) or NOT_PUBLISHED),
                    ("Tokenizer", f"<code>{_e(d['tokenizer'])}</code>" if d.get("tokenizer") else NOT_PUBLISHED),
                    ("Block size", _count(d.get("block_size"))),
                    ("Cache", _e(d.get("cache", "")) or NOT_PUBLISHED),
                ]
            )
        )
        f = _dict(d.get("filters"))
        docs, toks = _dict(d.get("documents")), _dict(d.get("tokens"))
        parts.append("<h3>Documents and tokens</h3>")
        parts.append(
            _rows(
                [
                    ("Documents read", _count(f.get("read"))),
                    ("Removed: empty", _count(f.get("empty"))),
                    ("Removed: shorter than min_chars", _count(f.get("min_chars"))),
                    ("Removed: longer than max_chars", _count(f.get("max_chars"))),
                    ("Removed: duplicates", _count(f.get("duplicates"))),
                    ("Documents kept", _count(docs.get("kept", f.get("kept")))),
                    ("Documents removed", _count(docs.get("removed", f.get("removed")))),
                    ("Tokens kept (in blocks)", _count(toks.get("kept"))),
                    ("Tokens removed (block remainders)", _count(toks.get("removed"))),
                ],
                numeric=True,
            )
        )
        train, val = _dict(d.get("train")), _dict(d.get("validation"))
        if train or val:
            parts.append("<h3>Split</h3>")
            parts.append(
                "<table><tr><th></th><th>documents</th><th>blocks</th><th>tokens</th></tr>"
                + "".join(
                    f'<tr><th>{name}</th><td class="n">{_count(s.get("documents"))}</td>'
                    f'<td class="n">{_count(s.get("blocks"))}</td><td class="n">{_count(s.get("tokens"))}</td></tr>'
                    for name, s in (("train", train), ("validation", val))
                )
                + "</table>"
            )
        parts.append('<h3>Length histogram</h3><div class="charts">' + histogram_chart(_dict(d.get("length_histogram"))) + "</div>")
        sample = [s for s in _list(d.get("sample")) if isinstance(s, str)]
        parts.append("<h3>Sample</h3>")
        parts.append("".join(f"<blockquote>{_e(s)}</blockquote>" for s in sample) or f"<p>{NOT_PUBLISHED}</p>")
    if view.current is not None:
        parts.append(_links(view.current.links))
    parts.append("<h3>History</h3>" + _history(view))
    return "".join(parts)


# -- Training -----------------------------------------------------------------------------------


def training_charts(details: Mapping[str, Any]) -> list[str]:
    """The loss chart (training and validation loss) and the perplexity chart."""
    loss = Series("training loss", _list(details.get("loss_curve")), PALETTE[0])
    eval_loss = Series("validation loss", _list(details.get("eval_loss_curve")), PALETTE[1])
    ppl = Series("validation perplexity", _list(details.get("perplexity_curve")), PALETTE[2])
    return [
        line_chart([loss, eval_loss], title="Loss", x_label="step", y_label="loss"),
        line_chart([ppl], title="Perplexity", x_label="step", y_label="perplexity"),
    ]


def gate_verdict(train: StageView, serving: StageView) -> str:
    """The gate's verdict as the training or serving stage published it."""
    for view in (train, serving):
        details = view.current.details if view.current else {}
        gate = _dict(details.get("gate"))
        verdict = gate.get("verdict") or details.get("verdict") or details.get("gate_verdict")
        reason = gate.get("reason") or details.get("gate_reason") or details.get("verdict_reason")
        if isinstance(verdict, str) and verdict:
            return f"<strong>{_e(verdict)}</strong>" + (f" — {_e(reason)}" if reason else "")
    return NOT_PUBLISHED


def training_panel(view: StageView, serving: StageView) -> str:
    """The Training tab."""
    parts = [_header(view, "Training"), _failure_reason(view)]
    cur = view.current.details if view.current else {}
    if view.current is not None and view.current.state in ("training", "queued"):
        step, steps = _number(cur.get("step")), _number(cur.get("max_steps"))
        if step is not None and steps:
            parts.append(f"<p>Step {int(step):,} of {int(steps):,}.</p>")
    curves, event = view.latest_details_with("loss_curve")
    if curves:
        parts.append(_from_event(event, view.current))
        m = _dict(curves.get("metrics"))
        parts.append(
            _rows(
                [
                    ("Model version", f"v{_e(curves['version'])}" if curves.get("version") else NOT_PUBLISHED),
                    ("Perplexity (validation)", _metric(m.get("perplexity"))),
                    ("Loss (validation)", _metric(m.get("eval_loss"))),
                    ("Loss (training, last)", _metric(m.get("train_loss"))),
                    ("Data version", f"<code>{_e(curves['data_digest'])}</code>" if curves.get("data_digest") else NOT_PUBLISHED),
                    ("Gate verdict", gate_verdict(view, serving)),
                ]
            )
        )
        parts.append('<h3>Curves</h3><div class="charts">' + "".join(training_charts(curves)) + "</div>")
    else:
        if cur.get("reused") and cur.get("version"):
            parts.append(f"<p>Nothing changed since v{_e(cur['version'])}: it was reused, not retrained.</p>")
        parts.append(_rows([("Gate verdict", gate_verdict(view, serving))]))
        parts.append('<h3>Curves</h3><div class="charts">' + "".join(training_charts({})) + "</div>")
    hyper, _ = view.latest_details_with("hyperparameters")
    hp = _dict(hyper.get("hyperparameters"))
    parts.append("<h3>Hyperparameters</h3>")
    parts.append(_rows([(k, f"<code>{_e(v)}</code>") for k, v in hp.items()]) if hp else f"<p>{NOT_PUBLISHED}</p>")
    shown_links = view.current.links if view.current and view.current.links else {}
    if not shown_links and event is not None:
        shown_links = event.links
    parts.append("<h3>Runs</h3>" + (_links(shown_links) or f"<p>{NOT_PUBLISHED}</p>"))
    parts.append("<h3>History</h3>" + _history(view))
    return "".join(parts)


# -- Deployment ---------------------------------------------------------------------------------


def deployment_panel(view: StageView) -> str:
    """The Deployment tab."""
    parts = [_header(view, "Deployment"), _failure_reason(view)]
    d = view.current.details if view.current else {}
    probe = _dict(d.get("probe"))
    latency = _number(probe.get("latency_s"))
    if view.current is None:
        drift = NOT_PUBLISHED
    elif view.state == "drift":
        drift = f'<span class="error">yes</span> · {_e(view.message)}'
    else:
        drift = "no" if probe or view.state == "live" else NOT_PUBLISHED
    served = probe.get("version") or d.get("version")
    champion = d.get("champion_version") or d.get("champion") or d.get("version")
    previous = d.get("previous_version") or d.get("previous")
    url = d.get("url") or (view.current.links.get("url") if view.current else None)
    health = state_chip(view.state, "", view.color)
    if probe.get("status") is not None:
        health += f" <span class=\"muted\">/health answered HTTP {_e(probe['status'])}</span>"
    elif probe.get("error"):
        health += f" <span class=\"error\">{_e(probe['error'])}</span>"
    parts.append(
        _rows(
            [
                ("Served version", f"v{_e(served)}" if served else NOT_PUBLISHED),
                ("@champion", f"v{_e(champion)}" if champion else NOT_PUBLISHED),
                ("@previous", f"v{_e(previous)}" if previous else NOT_PUBLISHED),
                ("Endpoint", link(url) if url else NOT_PUBLISHED),
                ("Health", health),
                ("Latency of /health", f"{latency * 1000:.0f} ms" if latency is not None else NOT_PUBLISHED),
                ("Drift", drift),
                ("Last probed", _e(probe["at"]) if probe.get("at") else NOT_PUBLISHED),
            ]
        )
    )
    if d.get("rolled_back"):
        parts.append(f"<p>Rolled back: {_e(d['rolled_back'])}.</p>")
    if d.get("error") and view.state != "failed":
        parts.append(f'<p class="error">{_e(d["error"])}</p>')
    parts.append(
        "<h3>Roll back</h3><p>Move <code>@champion</code> back to <code>@previous</code> and serve it:</p>"
        f"<pre>{_e(ROLLBACK_COMMAND)}</pre>"
    )
    if view.current is not None:
        parts.append(_links({k: v for k, v in view.current.links.items() if k not in ("url", "endpoint")}))
    parts.append("<h3>History</h3>" + _history(view))
    return "".join(parts)


# -- notifications ------------------------------------------------------------------------------


def notifications_section(webhooks: Sequence[str], failures: Sequence[WebhookFailure]) -> str:
    """The webhooks told about changes (redacted) and the deliveries that failed."""
    parts = ['<section id="notifications"><h2>Notifications</h2>']
    if webhooks:
        hosts = ", ".join(f"<code>{_e(u)}</code>" for u in webhooks)
        parts.append(f"<p>{len(webhooks)} webhook(s) receive each state change: {hosts}</p>")
    else:
        parts.append('<p class="muted">No webhooks configured (<code>status.webhooks</code>).</p>')
    if failures:
        rows = "".join(
            f"<tr><td>{_e(_when(f.at))}</td><td>{_e(f.stage)}: {_e(f.previous_state or '—')} → {_e(f.state)}</td>"
            f"<td><code>{_e(f.url)}</code></td><td class=\"n\">{f.attempts}</td><td class=\"error\">{_e(f.error)}</td></tr>"
            for f in failures
        )
        parts.append(
            "<h3>Failed deliveries</h3><table><tr><th>when</th><th>change</th><th>receiver</th><th>attempts</th>"
            f"<th>error</th></tr>{rows}</table>"
        )
    elif webhooks:
        parts.append('<p class="muted">No failed deliveries.</p>')
    parts.append("</section>")
    return "".join(parts)


# -- the page -----------------------------------------------------------------------------------


def badge_data_uri(view: StageView) -> str:
    """The stage's badge (the SVG its badge URL answers) as a ``data:`` URI, so no token is needed to show it."""
    svg = render_badge(LABELS[view.stage], view.message, view.color)
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()


def tab_for(value: str | None) -> str:
    """The tab a ``?tab=`` value names (case-insensitive), Dataset when it names none."""
    for tab in TABS.values():
        if value and value.lower() == tab.lower():
            return tab
    return TABS["data"]


def script_hash(script: str = TAB_SCRIPT) -> str:
    """The CSP source allowing exactly this inline script."""
    return "'sha256-" + base64.b64encode(hashlib.sha256(script.encode()).digest()).decode() + "'"


def render_page(
    data: PageData,
    tab: str | None = None,
    badge_src: Mapping[str, str] | None = None,
    static: bool = False,
) -> str:
    """The project page as one HTML document.

    ``badge_src`` maps a stage to its badge image URL (the static export's relative files);
    without it the badges are inlined as ``data:`` URIs. ``static`` adds the small script that
    honours ``?tab=`` where no server reads it.
    """
    current = tab_for(tab)
    views = data.stages
    badges = []
    for stage in STAGES:
        src = badge_src[stage] if badge_src else badge_data_uri(views[stage])
        badges.append(f'<a href="#tab-{TABS[stage]}"><img alt="{_e(ALT_TEXT[stage])}" src="{escape(src)}"></a>')
    bodies = {
        "data": dataset_panel(views["data"]),
        "train": training_panel(views["train"], views["serving"]),
        "serving": deployment_panel(views["serving"]),
    }
    panels = []
    for stage in STAGES:
        name = TABS[stage]
        nav = "".join(
            f'<a href="#tab-{TABS[s]}"{ON if s == stage else ""}>{TABS[s]}</a>' for s in STAGES
        )
        cls = "panel current" if name == current else "panel"
        panels.append(f'<section id="tab-{name}" class="{cls}"><nav class="tabs">{nav}</nav>{bodies[stage]}</section>')
    unknown = "" if data.known else '<p class="muted">This project has not published any status yet.</p>'
    csp = ""
    script = ""
    if static:
        csp = (
            '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; img-src \'self\' data:; '
            f"style-src 'unsafe-inline'; script-src {script_hash()}\">"
        )
        script = f"<script>{TAB_SCRIPT}</script>"
    made = "Static export" if static else "Served"
    return (
        "<!doctype html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="referrer" content="no-referrer">'
        f"{csp}<title>{_e(data.project)} · cubeops</title><style>{STYLE}</style></head><body>"
        f'<header><h1>{_e(data.project)} <span class="visibility">{_e(data.visibility)}</span></h1>'
        f'<div class="badges">{"".join(badges)}</div>{unknown}</header>'
        f'<main class="panels">{"".join(panels)}</main>'
        f"{notifications_section(data.webhooks, data.failures)}"
        f"<footer>{made} by cubeops at {_e(_when(data.generated_at))}.</footer>"
        f"{script}</body></html>\n"
    )


def refusal_page() -> str:
    """The page for an unknown project and for one the visitor may not see: the same bytes for both."""
    return (
        "<!doctype html>\n"
        '<html lang="en"><head><meta charset="utf-8"><meta name="referrer" content="no-referrer">'
        f"<title>not found · cubeops</title><style>{STYLE}</style></head><body><header>"
        "<h1>No such project, or no access to it</h1>"
        "<p>A private project's page opens with one of its read tokens: <code>?token=…</code>.</p>"
        "</header></body></html>\n"
    )
