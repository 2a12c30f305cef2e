"""The pure domain core: the customs rules of the portal as plain values in, values out.

Every app may import it; it imports the standard library and itself only (plus openpyxl to read XLSX), never
Django and never an app (tests/test_layers.py fails otherwise). So it runs without settings or a database,
and its tests are tables (tests/domain/).

Why a top-level package and not one under brokerage/: brokerage/ is the Django project (settings, URLs, the
Celery app, storage), i.e. infrastructure that imports Django; the core sits below it and below every app.

What lives here, one module per rule of the shared spec (domain.md):
- entry_numbers.py   ACE entry numbers: check digit, canonical and displayed forms (spec §2).
- chapter99.py       the Chapter 99 registry rules (which HTS headings are IEEPA / Section 122 duty).
- classification.py  an entry's refund path, reasons and deadlines; deadlines.py holds the rule sets
                     (day counts, phase dates, collection periods) and the deadline arithmetic.
- eligibility.py     which entries may go into a CAPE declaration, and what its results add up to.
- interest.py        the interest estimate from a quarter-rate table.
- cape.py            CAPE declaration files: writing and validation.
- banking.py         ABA routing-number and last-four checks.
- calendar.py        iCalendar text: the line writer, the code window's invitation, the deadline feed.
- vocabulary.py      the domain's words, each defined once: refund paths, reasons, deadline kinds,
                     liquidation statuses, with their labels (the models' choices derive from them).
- charts.py          the staff dashboard's SVG bar charts (geometry only).
- tabular.py         what every report reader shares: errors, header matching, the memo, the encoding sniffer.
- xlsx.py            reading XLSX workbooks safely (limits on the archive) as cell texts.
- es003/             the ES-003 report reader: values, columns, rows, parsing (files), grouping (entries).
- cbp_reports.py     reading the files CBP sends back about CAPE and protests (their columns: cbp_columns.py).
- protests/          the pure protest rules: deadlines (rules.py), drafting plans, CBP's decision words.
What stays in the apps, and why: the ORM-backed halves of these rules (entries/registry.py loads the
Chapter 99 registry from its table, entries/reclassification.py reads and writes stored entries); the
onboarding checklist (clients/onboarding/checklist.py), pure but built on Django's TextChoices that the
models reuse; the reminder thresholds (entries/reminders/rules.py), pure but only the reminders use them.
"""
