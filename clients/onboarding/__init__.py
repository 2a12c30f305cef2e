"""Onboarding: the checklist's pure rules (checklist), its reads, writes, forms, pages and periodic tasks.

Kept empty on purpose: clients.models imports the enums from checklist, so importing the package must not
import models, services or views.
"""
