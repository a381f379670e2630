"""The run application: the engine and what reads a run back.

``engine`` (with ``log_sink``, ``run_inputs``, ``vector_sync``) runs a scenario into an
``EventStore``; ``timetravel``, ``diff``, ``verify``, ``compare``, ``schema_match``,
``baseline``, ``novelty``, ``anomaly_lead`` and ``quality`` read runs back. It speaks only to the
ports (``janus_sim.ports``) and never imports an adapter: ``janus_sim.wiring`` and the
command line hand it its stores and inputs (checked by ``lint-imports``).
"""
