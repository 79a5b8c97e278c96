"""Dagster assets, checks, sensors and jobs. Thin: they call the ``prometheus`` library."""
