"""Every setting is documented in the README's table, and read from the environment."""

from __future__ import annotations

import pytest

from surveyapp.settings import SETTINGS, from_environment, markdown_table

from conftest import ROOT


def test_every_setting_is_in_the_readme_table():
    readme = (ROOT / "README.md").read_text()
    assert markdown_table() in readme, "README's settings table is stale: paste surveyapp.settings.markdown_table()"
    for setting in SETTINGS:
        assert f"`{setting.name}`" in readme


def test_settings_come_from_the_environment_with_types():
    values = from_environment({"SURVEYKIT_MIN_CELL": "10", "SURVEYKIT_BASE_URL": "https://x.example"})
    assert values["SURVEYKIT_MIN_CELL"] == 10
    assert values["SURVEYKIT_BASE_URL"] == "https://x.example"
    assert values["SURVEYKIT_DRAFT_DAYS"] == 7


def test_a_malformed_setting_is_a_clear_error():
    with pytest.raises(SystemExit, match="SURVEYKIT_MIN_CELL: 'five' is not a valid int"):
        from_environment({"SURVEYKIT_MIN_CELL": "five"})
