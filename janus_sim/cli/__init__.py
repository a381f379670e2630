"""The command line: click commands (one module per command family), their shared
options and error handling (``common``), and the rich tables and progress (``render``).
The only package that imports click or rich."""
