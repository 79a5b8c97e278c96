"""Historical data: table schemas, the Parquet lake store, sources and point-in-time views."""
