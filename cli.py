"""Thin shim so `python cli.py run ...` works from a checkout (the CLI: janus_sim.cli,
through janus_sim.entry: the stop signals are handled before the heavy imports)."""

from janus_sim.entry import main

if __name__ == "__main__":
    main()
