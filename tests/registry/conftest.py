"""Registered tiny versions and a project on this test's MLflow store (see tests/registry/builders.py)."""

from tests.registry.builders import cleanup, project, saved_models  # noqa: F401 - fixtures
