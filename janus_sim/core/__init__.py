"""The pure, deterministic core: the market, the agent, the five-phase sleep cycle, the
events and the fold that builds the state from them. No I/O, no wall clock, no global
RNG, no unordered iteration; portable arithmetic only (``detmath``), so a scenario and
seed give the same events on every CPU. It imports nothing of janus_sim but ``config``,
``errors`` and ``timefmt`` (checked by ``lint-imports``)."""
