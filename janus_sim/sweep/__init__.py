"""Parameter sweeps: the sweep file (``spec``), its trials (``plan``), one trial in a worker
(``trial``), the rounds and retries (``run``), the executors and the sweep folder, the
tables (``results``, ``tables``, ``columns``) and the sweep report (``report_*``)."""
