"""Thin shim so `python cli.py run ...` works from a checkout; the CLI lives in janus_sim.cli."""

from janus_sim.cli import main

if __name__ == "__main__":
    main()
