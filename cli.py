"""Thin shim so `python cli.py run ...` works from a checkout (the CLI: janus_sim.cli)."""

from janus_sim.cli.main import main

if __name__ == "__main__":
    main()
