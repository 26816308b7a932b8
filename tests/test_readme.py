"""The README tells the truth: the spec reference matches the models, every command is documented."""

from flows.cli import COMMANDS
from flows.spec_reference import spec_reference
from tests.helpers import REPO

README = (REPO / "README.md").read_text(encoding="utf-8")


def test_spec_reference_section_matches_the_models():
    start = README.index("<!-- spec-reference -->\n") + len("<!-- spec-reference -->\n")
    end = README.index("<!-- /spec-reference -->")
    assert README[start:end].strip() == spec_reference().strip(), "run: python -m flows.spec_reference"


def test_quickstart_is_two_commands_and_every_command_is_documented():
    assert "make run " in README and "make test " in README
    for name in COMMANDS:
        assert f"`cubeops {name}" in README, f"cubeops {name} is not in the README"
