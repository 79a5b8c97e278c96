"""Broker adapters for external brokers (``ib``: Interactive Brokers through ib_async)."""
