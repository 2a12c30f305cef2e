"""CBP's decision list for a protest: kept as a job row on upload, then read and applied by a Celery task on the
imports queue, like the CBP refund reports (refunds.services.cbp_report_upload), with progress and the rows that
were not applied (the page and its CSV). The reading is domain.cbp_reports' (kind protest_decisions:
header-tolerant, CSV or XLSX); the words are domain.protests.decisions'; the recording is following.record_decisions.
"""

from __future__ import annotations

import hashlib
import logging
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files import File
from django.db import transaction
from django.utils import timezone

from brokerage.queueing import enqueue_on_commit
from brokerage.storage import local_path
from clients import audit
from clients.jobs import job_fail, job_progress, job_start, job_succeed
from clients.models import User
from clients.tenancy import client_access_for
from domain.cbp_reports import BadRow, FileRejected, open_cbp_report
from domain.protests import decisions

from .following import Decided, lock_filed, record_decisions
from .models import Protest, ProtestDecisionList

logger = logging.getLogger(__name__)
PROGRESS_EVERY_ROWS = 500
MAX_PROBLEMS = 10_000  # kept on the row; a list with more is a wrong file, and the message says how many


def protest_decision_list_upload(
    *, actor: User, protest: Protest, uploaded, enqueue: bool = True
) -> ProtestDecisionList:
    """Keep CBP's decision list for the protest and queue its reading (enqueue=False: the caller runs it)."""
    access = client_access_for(actor, protest.client)
    if access is None or not access.is_staff:
        raise ValidationError("Only broker staff upload CBP's decisions.")
    protest = Protest.objects.get(client=protest.client, pk=protest.pk)  # its status now
    if protest.status in (Protest.Status.DRAFT, Protest.Status.DISCARDED, Protest.Status.WITHDRAWN):
        raise ValidationError(
            f"This protest is {protest.get_status_display().lower()}; it has no decision to record."
        )
    name = uploaded.name or "decisions"
    if uploaded.size == 0:
        raise ValidationError({"file": f"{name} is empty."})
    if uploaded.size > settings.UPLOAD_MAX_BYTES:
        raise ValidationError({"file": f"{name} is larger than the upload limit."})
    digest = hashlib.sha256()
    for chunk in uploaded.chunks():
        digest.update(chunk)
    uploaded.seek(0)
    with transaction.atomic():
        upload = ProtestDecisionList(
            client=protest.client,
            protest=protest,
            created_by=actor,
            original_name=name[:255],
            sha256=digest.hexdigest(),
            size_bytes=uploaded.size,
        )
        upload.file.save("decisions.upload", File(uploaded), save=False)
        upload.save()
        audit.record(
            client=protest.client,
            actor=actor,
            action="protests.decision_list_uploaded",
            subject=protest,
            data={
                "file": name,
                "sha256": upload.sha256,
                "bytes": uploaded.size,
                "job": str(upload.public_id),
            },
        )
        if enqueue:
            enqueue_on_commit("protests.tasks.apply_protest_decision_list", upload.pk)
    return upload


def _read(upload: ProtestDecisionList) -> tuple[dict[str, Decided], dict[str, int], list[list]]:
    """The decisions the file gives, by entry number (with each entry's row), and the rows it cannot give."""
    protest = upload.protest
    decided: dict[str, Decided] = {}
    rows_of: dict[str, int] = {}
    problems: list[list] = []
    today = timezone.localdate()
    count = 0
    with local_path(upload.file) as path, open_cbp_report(path, kind="protest_decisions") as reader:
        for row in reader.rows():
            count += 1
            if count % PROGRESS_EVERY_ROWS == 0:
                job_progress(upload, done=count, message=f"{count:,} rows read…")
            if isinstance(row, BadRow):
                problems.append([row.row_number, row.entry_text, row.reason])
                continue
            if row.claim_number and row.claim_number != protest.protest_number:
                problems.append(
                    [row.row_number, row.entry_number, f"protest {row.claim_number} is another protest"]
                )
                continue
            decision = decisions.decision_of(row.reason)
            if decision is None:
                problems.append(
                    [row.row_number, row.entry_number, f"decision {row.reason!r} is not one we know"]
                )
                continue
            if decision == "pending":
                continue
            amount = None  # CBP's amount column counts for a partial allowance only
            if decision == "partially_allowed" and row.principal_cents is not None:
                amount = Decimal(row.principal_cents) / 100
            decided[row.entry_number] = Decided(decision, row.on_date or today, amount)
            rows_of[row.entry_number] = row.row_number
    upload.rows_read = count
    return decided, rows_of, problems


def protest_decision_list_apply(*, upload: ProtestDecisionList) -> ProtestDecisionList:
    """Read the list and record its decisions on the protest, moving the job row to succeeded or failed."""
    job_start(upload)
    try:
        decided, rows_of, problems = _read(upload)
        with transaction.atomic():
            protest = lock_filed(upload.protest)
            applied, refused = record_decisions(
                protest=protest, decided=decided, source="report", actor=upload.created_by
            )
    except (FileRejected, ValidationError) as rejected:
        text = "; ".join(rejected.messages) if isinstance(rejected, ValidationError) else str(rejected)
        job_fail(upload, message=f"The whole file was rejected; nothing was recorded. {text}")
        return upload
    except Exception:
        logger.exception("Applying protest decision list %s failed", upload.pk)
        job_fail(
            upload,
            message="The list could not be applied because of an internal error; nothing was recorded.",
        )
        raise
    problems += [[rows_of.get(number), number, reason] for number, reason in refused]
    problems.sort(key=lambda p: (p[0] is None, p[0] or 0))
    upload.applied = applied
    upload.problems = problems[:MAX_PROBLEMS]
    upload.save(update_fields=["rows_read", "applied", "problems"])
    message = f"{upload.rows_read:,} row{'' if upload.rows_read == 1 else 's'} read: "
    message += f"{applied:,} decision{'' if applied == 1 else 's'} recorded"
    message += f", {len(problems):,} not applied." if problems else "."
    job_succeed(upload, message=message)
    return upload
