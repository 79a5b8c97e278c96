"""Engine assets, one module per engine."""
