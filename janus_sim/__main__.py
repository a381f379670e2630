"""``python -m janus_sim`` runs the command line (through ``entry``: signals first)."""

from janus_sim.entry import main

main()
