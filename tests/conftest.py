"""Root fixtures: the database fixtures of tests.support are available to every test."""

pytest_plugins = ["tests.support.fixtures"]
