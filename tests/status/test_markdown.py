"""The README badge block: Boltzbit-shaped URLs, idempotent updates, markers respected."""

import pytest

from flows.errors import UserError
from status.markdown import BEGIN_MARK, END_MARK, badge_markdown, update_block


def test_badges_link_each_image_to_its_tab():
    md = badge_markdown("https://status.example.com/", "acme/bot").splitlines()
    assert md[0] == (
        "[![Data Status](https://status.example.com/api/v1/cubes/status/data?repositoryOwnerPlusName=acme/bot"
        "&token=PUBLIC)](https://status.example.com/acme/bot?tab=Dataset)"
    )
    assert "status/train?" in md[1] and md[1].endswith("?tab=Training)")
    assert "status/serving?" in md[2] and md[2].endswith("?tab=Deployment)")


def test_block_is_appended_once_then_updated_in_place():
    readme = "# acme/bot\n\nSome words.\n"
    once, action = update_block(readme, "BADGES v1")
    assert action == "appended"
    assert once.startswith(readme) and once.endswith(f"{BEGIN_MARK}\nBADGES v1\n{END_MARK}\n")
    again, action = update_block(once, "BADGES v1")
    assert (again, action) == (once, "unchanged")
    edited = once.replace("Some words.", "Other words.") + "\nFooter\n"
    updated, action = update_block(edited, "BADGES v2")
    assert action == "updated"
    assert updated == edited.replace("BADGES v1", "BADGES v2")


def test_unbalanced_markers_are_refused_naming_the_line():
    text = f"# x\n{BEGIN_MARK}\nold\n{BEGIN_MARK}\n{END_MARK}\n"
    with pytest.raises(UserError, match="README.md: unbalanced cubeops markers .*at line 2.*at line 4"):
        update_block(text, "new")
    with pytest.raises(UserError, match=f"{END_MARK} at line 1"):
        update_block(f"{END_MARK}\n{BEGIN_MARK}\n", "new")
