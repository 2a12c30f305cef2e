from django.apps import AppConfig


class StaffConfig(AppConfig):
    """The broker staff's interface across clients: caseload, dashboards, deadline alerts, the staff URLconf.

    It sits on top of the domain apps (it reads clients, entries, refunds); no app imports it. It has no models.
    """

    name = "staff"
    verbose_name = "Staff interface"
