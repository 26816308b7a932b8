"""The deploy flow's tasks: judge the challenger, serve the champion, record what happened.

Thin I/O around the pure pieces: the gate decision (:mod:`registry.gate`), measuring on the
same data (:mod:`registry.compare`), alias moves (:mod:`registry.aliases`), the server processes
(:mod:`flows.serving.process`) and the smoke test (:mod:`flows.deploy.smoke`). Only the
tracking record retries: the other two move aliases or processes, and a blind retry could move
them twice.
"""

import logging
from dataclasses import dataclass

from prefect import task
from prefect.cache_policies import NO_CACHE

from flows.contracts import (
    CHAMPION,
    PREVIOUS,
    TAG_GATE,
    TAG_GATE_REASON,
    Deployment,
    TrainedModel,
)
from flows.errors import RegistryError, ServingError
from flows.layout import Layout, resolve_layout
from flows.spec import ProjectSpec

log = logging.getLogger(__name__)

START_TIMEOUT = 300.0


@dataclass(frozen=True)
class GateOutcome:
    """What the gate did this run."""

    version: str | None
    verdict: str = ""
    reason: str = ""
    promoted: bool = False


def _store(layout: Layout):
    """The registry client, with MLflow's global URI on the project's store (loading ``models:/`` reads it)."""
    import mlflow

    from registry.client import registry_client

    client = registry_client(layout)
    mlflow.set_tracking_uri(layout.tracking_uri)
    return client


@task(name="gate", cache_policy=NO_CACHE)
def gate_challenger(spec: ProjectSpec, root: str, model: TrainedModel | None = None, force: bool = False) -> GateOutcome:
    """Judge the challenger (``model``, or the newest unjudged version) against the champion; move aliases."""
    from registry.aliases import (
        PROMOTED,
        REJECTED,
        mark_challenger,
        promote,
        record_verdict,
    )
    from registry.client import (
        get_version,
        list_versions,
        registered_aliases,
        run_metrics,
    )
    from registry.compare import measure
    from registry.gate import GateRule, Verdict, decide, pick_challenger

    layout = resolve_layout(spec, root)
    client = _store(layout)
    name = spec.model_name
    try:
        versions = list_versions(client, name)
    except RegistryError:
        if model is None:
            return GateOutcome(None, reason="no registered model yet")
        raise
    aliases = registered_aliases(client, name)
    champion = aliases.get(CHAMPION)
    target = pick_challenger(versions, champion, model.version if model else None, force)
    if target is None:
        if model is None:
            return GateOutcome(None, reason="no version waiting for a verdict")
        judged = get_version(client, name, model.version)
        verdict = judged.tags.get(TAG_GATE) or (CHAMPION if champion == model.version else "")
        return GateOutcome(model.version, verdict, judged.tags.get(TAG_GATE_REASON, "already judged"))
    mark_challenger(client, name, target, aliases)
    challenger = get_version(client, name, target)
    rule = GateRule.from_spec(spec.registry)
    if champion is None:
        decision = decide(rule, run_metrics(client, challenger.run_id).get(rule.metric))
    else:
        m = measure(client, layout, rule, challenger, get_version(client, name, champion))
        if m.unavailable:
            decision = Verdict(False, m.unavailable)
        else:
            decision = decide(m.rule, m.challenger, m.champion, champion, m.basis)
    if decision.promote:
        promote(client, name, target, PROMOTED, decision.reason)
    else:
        record_verdict(client, name, target, REJECTED, decision.reason)
    log.info("gate: v%s %s: %s", target, PROMOTED if decision.promote else REJECTED, decision.reason)
    return GateOutcome(target, PROMOTED if decision.promote else REJECTED, decision.reason, decision.promote)


def _serve(spec: ProjectSpec, layout: Layout, version, token: str | None) -> list:
    """Roll ``version`` out, smoke-testing it on its private port before it goes public."""
    from flows.deploy.smoke import SmokeFailed, smoke_test
    from flows.serving.process import roll_out

    def check(private_url: str) -> None:
        report = smoke_test(
            private_url, spec.eval.prompts, version.version,
            max_new_tokens=min(spec.eval.max_new_tokens, spec.serving.max_new_tokens),
            timeout=spec.serving.request_timeout.total_seconds(), token=token,
        )
        if not report.ok:
            raise SmokeFailed(f"v{version.version} failed its smoke test: {'; '.join(report.failures)}")

    return roll_out(spec, layout, version, token, check=check, timeout=START_TIMEOUT)


def _details(version, url: str, **extra) -> dict:
    # "url" and "champion_version" tell the status service's probe where to look and what to expect.
    return {"version": version.version, "champion_version": version.version, "run_id": version.run_id, "url": url, **extra}


def _publish_what_remains(publisher, layout: Layout, url: str, version, what: str, error: Exception) -> None:
    """After a failed roll-out: ``live`` on whatever still serves, else ``down`` saying what failed."""
    from flows.serving.process import live_servers

    still = [r for r in live_servers(layout.serving_dir) if r.public]
    details = _details(version, url, error=str(error))
    if still:
        publisher.publish("serving", "live", f"live · v{still[0].version}", links={"url": url}, details=details)
    else:
        publisher.publish("serving", "down", f"down · {what}", details=details)


def _roll_back(
    spec: ProjectSpec, layout: Layout, client, publisher, failed: Exception, champion, token: str | None
) -> Deployment:
    """``champion`` ← ``previous`` after a failed smoke test, and make sure ``previous`` is what is served."""
    from flows.serving.process import base_url, serving_now
    from registry.aliases import rollback, withdraw
    from registry.client import alias_version, registered_aliases

    name, url = spec.model_name, base_url(spec.serving.host, spec.serving.port)
    if registered_aliases(client, name).get(PREVIOUS) is None:
        withdraw(client, name, champion.version, str(failed))
        _publish_what_remains(publisher, layout, url, champion, f"v{champion.version} failed its smoke test", failed)
        raise failed
    plan = rollback(client, name, str(failed))
    previous = alias_version(client, name, CHAMPION)
    log.warning("%s; rolled back to v%s", failed, previous.version)
    # Usually nothing to do: the smoke test ran before the switch, so the old server never stopped.
    if serving_now(layout.serving_dir, spec.serving.host, spec.serving.port) != previous.version:
        _serve(spec, layout, previous, token)
    publisher.publish("serving", "live", f"live · v{previous.version}", links={"url": url},
                      details=_details(previous, url, rolled_back=plan.demoted, error=str(failed)))
    return Deployment(model_name=name, version=previous.version, url=url, rolled_back=True,
                      verdict=f"{failed}; rolled back to v{previous.version}")


@task(name="serve-champion", cache_policy=NO_CACHE)
def serve_champion(spec: ProjectSpec, root: str, gate: GateOutcome, force: bool = False) -> Deployment:
    """Serve ``@champion`` at the spec's port (switching without a failed request); roll back on a failed smoke test."""
    from flows.deploy.smoke import SmokeFailed
    from flows.serving.process import (
        base_url,
        live_servers,
        serving_lock,
        serving_now,
        serving_token,
    )
    from registry.client import alias_version, registered_aliases
    from status.publish import publisher_for

    layout = resolve_layout(spec, root)
    client = _store(layout)
    publisher = publisher_for(spec, layout)
    name, url = spec.model_name, base_url(spec.serving.host, spec.serving.port)
    result = {"model_name": name, "verdict": gate.verdict, "promoted": gate.promoted}
    champion = alias_version(client, name, CHAMPION)
    # The project page shows the gate's verdict and the alias history beside the served version.
    page = {"gate": {"verdict": gate.verdict, "reason": gate.reason},
            "previous_version": registered_aliases(client, name).get(PREVIOUS)}
    if champion is None:
        publisher.publish("serving", "down", "down · no champion", details={"reason": gate.reason, **page})
        return Deployment(version=None, url=None, **result)
    token = serving_token(spec)
    with serving_lock(layout.serving_dir):
        if not force and serving_now(layout.serving_dir, spec.serving.host, spec.serving.port) == champion.version:
            publisher.publish("serving", "live", f"live · v{champion.version}", links={"url": url},
                              details=_details(champion, url, reused=True, **page))
            return Deployment(version=champion.version, url=url, **result)
        replacing = sorted({r.version for r in live_servers(layout.serving_dir)})
        publisher.publish("serving", "deploying", f"deploying · v{champion.version}",
                          details=_details(champion, url, replacing=replacing, **page))
        try:
            _serve(spec, layout, champion, token)
        except SmokeFailed as failed:
            return _roll_back(spec, layout, client, publisher, failed, champion, token)
        except ServingError as exc:
            _publish_what_remains(publisher, layout, url, champion, f"v{champion.version} did not start", exc)
            raise
    publisher.publish("serving", "live", f"live · v{champion.version}", links={"url": url},
                      details=_details(champion, url, **page))
    return Deployment(version=champion.version, url=url, **result)


@task(name="record-deployment", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=1)
def record_deployment(spec: ProjectSpec, root: str, deployment: Deployment, parent_run_id: str | None = None) -> str:
    """An MLflow run ``deploy`` (nested under the pipeline's run when given) holding what was deployed."""
    import mlflow
    from prefect.runtime import flow_run

    from flows.tracking import use_experiment

    layout = resolve_layout(spec, root)
    exp_id = use_experiment(layout)
    tags = {"mlflow.runName": "deploy", "cubeops.stage": "deploy", "cubeops.project": spec.project}
    if parent_run_id:
        tags["mlflow.parentRunId"] = parent_run_id
    if flow_run.id:
        tags["cubeops.prefect_flow_run_id"] = str(flow_run.id)
    client = mlflow.MlflowClient(layout.tracking_uri)
    run_id = client.create_run(exp_id, tags=tags).info.run_id
    for key, value in deployment.model_dump().items():
        client.log_param(run_id, key, "" if value is None else str(value)[:6000])
    client.set_terminated(run_id, status="FINISHED")
    return run_id
