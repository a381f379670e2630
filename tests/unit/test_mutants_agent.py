"""agent behaviour the older tests left open (found by mutation testing, QUALITY.md)."""

from __future__ import annotations
