"""Helpers shared by the test suite (database fixtures, worker processes)."""
