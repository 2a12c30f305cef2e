"""Ingestion of ACE reports: upload checks, the streamed import (importer), staging, broker-wide routing.

Kept empty on purpose: `python -m entries.ingestion.staging` runs without Django and must import nothing
that needs it.
"""
