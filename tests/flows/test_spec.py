"""The project spec: defaults, validation messages with line numbers, never a traceback."""

import textwrap

import pytest

from flows.errors import SpecError
from flows.spec_loader import load_spec, parse_spec


def problems(text: str) -> list[str]:
    with pytest.raises(SpecError) as info:
        parse_spec(textwrap.dedent(text), "cubeops.yaml")
    return info.value.problems


def test_five_line_spec_gets_defaults_for_every_section():
    spec = parse_spec("project: acme/support-bot\n")
    assert spec.project == "acme/support-bot"
    assert spec.model.base == "distilgpt2"
    assert spec.model_name == "acme-support-bot"
    assert spec.experiment_name == "acme/support-bot"
    assert spec.serving.host == "127.0.0.1"
    assert spec.status.stale_after.days == 7


def test_negative_learning_rate_names_path_and_line():
    msgs = problems(
        """\
        project: acme/bot
        train:
          max_steps: 10
          learning_rate: -0.1
        """
    )
    assert msgs == ["train.learning_rate (line 4): must be greater than 0"]


def test_unknown_key_suggests_the_known_one():
    msgs = problems(
        """\
        project: acme/bot
        train:
          learning_rte: 0.1
        """
    )
    assert msgs == ["train.learning_rte (line 3): is not a known key; did you mean 'learning_rate'?"]


def test_wrong_type_and_missing_project_are_both_reported():
    msgs = problems(
        """\
        visibility: public
        data:
          block_size: big
        """
    )
    assert "project: is required" in msgs
    assert any(m.startswith("data.block_size (line 3): must be a valid integer") for m in msgs)


def test_broken_yaml_names_the_line():
    msgs = problems("project: acme/bot\ntrain: [1, 2\nserving: {}\n")
    assert len(msgs) == 1 and msgs[0].startswith("malformed YAML at line 3")


def test_non_loopback_host_requires_auth():
    msgs = problems(
        """\
        project: acme/bot
        serving:
          host: 0.0.0.0
        """
    )
    assert "serving.auth" in msgs[0] and "(line 2)" in msgs[0]
    spec = parse_spec("project: acme/bot\nserving:\n  host: 0.0.0.0\n  auth: {token_env: MY_TOKEN}\n")
    assert spec.serving.auth.token_env == "MY_TOKEN"


def test_invalid_cron_and_webhook_are_caught():
    msgs = problems(
        """\
        project: acme/bot
        schedule:
          cron: "0 25 * * *"
        status:
          webhooks: [ftp://example.com/hook]
        """
    )
    assert any(m.startswith("schedule.cron (line 3): cron '0 25 * * *' is invalid") for m in msgs)
    assert any(m.startswith("status.webhooks (line 5)") and "http" in m for m in msgs)


def test_sources_accept_strings_and_mappings():
    spec = parse_spec(
        textwrap.dedent(
            """\
            project: acme/bot
            data:
              sources:
                - docs/*.txt
                - https://example.com/corpus.jsonl
                - hf:wikitext
                - {url: "https://example.com/a.csv", sha256: "%s", text_field: body}
            """
            % ("a" * 64)
        )
    )
    kinds = [(s.path, s.url, s.hf) for s in spec.data.sources]
    assert kinds[0] == ("docs/*.txt", None, None)
    assert kinds[1][1] == "https://example.com/corpus.jsonl"
    assert kinds[2][2] == "wikitext"
    assert spec.data.sources[3].text_field == "body"


def test_spec_models_are_frozen():
    spec = parse_spec("project: acme/bot\n")
    with pytest.raises(Exception):
        spec.train.max_steps = 3  # type: ignore[misc]


def test_every_field_is_described():
    from pydantic import BaseModel

    from flows import spec as spec_module

    for obj in vars(spec_module).values():
        if isinstance(obj, type) and issubclass(obj, BaseModel) and obj.__module__ == spec_module.__name__:
            for name, field in obj.model_fields.items():
                assert field.description, f"{obj.__name__}.{name} has no description"


def test_missing_file_is_a_spec_error(tmp_path):
    with pytest.raises(SpecError, match="no such file"):
        load_spec(tmp_path / "cubeops.yaml")
