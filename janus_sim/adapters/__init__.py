"""The I/O adapters, and nothing else: DuckDB (the event store, its SQL and sessions),
Qdrant (the schema collection), Parquet export, scenario and bar files, run locks,
atomic file writes and the stop signals. They never import ``janus_sim.app``."""
