"""Independent reference computations used to cross-check library code (they import nothing from it)."""
