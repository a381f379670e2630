"""The HTML report of one run: its data read from the store (``data``, ``series``), the
model the page is built from (``model``), and the page itself (``html``, ``sections``)."""
