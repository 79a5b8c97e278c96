"""The Synthetic Scenarios engine: filtered historical simulation, block and regime bootstraps, replays, shocks."""
