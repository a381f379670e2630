"""janus-sim: event-sourced simulation and replay harness for the JANUS sleep cycle."""

__version__ = "0.1.0"
