"""Root fixtures: the database fixtures and shared synthetic markets of tests.support are available to every test."""

pytest_plugins = ["tests.support.fixtures", "tests.support.markets"]
