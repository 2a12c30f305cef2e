"""The pure domain core: the customs rules of the portal as plain values in, values out.

Every app may import it; it imports the standard library and itself only (plus openpyxl to read XLSX), never
Django and never an app (tests/test_layers.py fails otherwise). So it runs without settings or a database,
and its tests are tables (tests/domain/).

Why a top-level package and not one under brokerage/: brokerage/ is the Django project (settings, URLs, the
Celery app, storage), i.e. infrastructure that imports Django; the core sits below it and below every app.

What lives here, one module per rule of docs/../shared/spec/domain.md:
- entry_numbers.py   ACE entry numbers: check digit, canonical and displayed forms (spec §2).
- chapter99.py       the Chapter 99 registry rules (which HTS headings are IEEPA / Section 122 duty).
- classification.py  an entry's refund path, reasons and deadlines; deadlines.py holds the rule sets
                     (day counts, phase dates, collection periods) and the deadline arithmetic.
- eligibility.py     which entries may go into a CAPE declaration, and what its results add up to.
- interest.py        the interest estimate from a quarter-rate table.
- cape.py            CAPE declaration files: writing and validation.
- banking.py         ABA routing-number and last-four checks.
- charts.py          the staff dashboard's SVG bar charts (geometry only).
- xlsx.py, es003/    reading reports: the XLSX reader and the ES-003 report reader (es003/parsing.py).
- cbp_reports.py     reading the files CBP sends back about CAPE and protests.
- protests/          the pure protest rules: deadlines (rules.py), drafting plans, CBP's decision words.
The ORM-backed parts (loading the registry from its table, storing entries) stay in the apps.
"""
