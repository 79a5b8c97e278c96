"""The Portfolio & Risk engine: risk model, optimiser with its fallback chain, target portfolios and risk reports."""
