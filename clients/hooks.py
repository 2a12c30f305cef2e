"""What the apps above clients provide to it (brokerage.hooks): clients may not import them.

Each hook says who provides it, from which AppConfig.ready().
"""

from brokerage.hooks import Hook

# entries: the entry figures of a client's overview page (totals, paths, upcoming deadlines, the rule-set
# notice) as template context; (client=, today=) -> dict.
overview_entries = Hook("clients.hooks.overview_entries", default={})
