"""Real daily bars for the tests of data-backed markets: five days of the S&P 500 in
October 2008 (the extract in scenarios/data, rounded to cents), in a Yahoo-style CSV."""

from __future__ import annotations

HEADER = "Date,Open,High,Low,Close,Volume\n"
SP500_ROWS = [
    "2008-10-06,1097.56,1097.56,1007.97,1056.89,7956020000",
    "2008-10-07,1057.60,1072.91,996.23,996.23,7069210000",
    "2008-10-08,988.91,1021.06,970.97,984.94,8716330000",
    "2008-10-09,988.42,1005.25,909.19,909.92,6819000000",
    "2008-10-10,902.31,936.36,839.80,899.22,11456230000",
]
COLUMNS = {
    "timestamp": "Date",
    "open": "Open",
    "high": "High",
    "low": "Low",
    "close": "Close",
    "volume": "Volume",
}
"""The scenario's ``market.data.columns`` for this CSV."""
