"""``python -m janus_sim`` runs the command line."""

from janus_sim.cli.main import main

main()
