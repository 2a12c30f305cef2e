"""Template filters for the words a person reads: a builtin, so every template (emails too) has them without
{% load %}. The lookups themselves live in clients/vocabulary.py."""

from django import template

from .. import vocabulary

register = template.Library()

for _name in (
    "path_label",
    "reason_label",
    "deadline_label",
    "liquidation_label",
    "program_label",
    "action_label",
    "entry_number",
    "hts",
    "possessive",
    "counted",
    "audit_details",
    "history_value",
):
    register.filter(_name, getattr(vocabulary, _name))
