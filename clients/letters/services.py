"""Writes for request letters: request a version (staff), render it to PDF (the Celery task), batches.

The HTML preview and the PDF come from the same template and the same merge data (letter_html), so the
preview staff approve is the letter CBP receives. WeasyPrint runs only in tasks, never in a request.
"""

from __future__ import annotations

import base64
import time
from datetime import date

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Max
from django.template.loader import render_to_string
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from brokerage.queueing import enqueue_on_commit

from .. import audit
from ..jobs import job_fail, job_progress, job_start, job_succeed
from ..models import Client, Letter, LetterBatch, User
from .kinds import (
    ENTRY_NUMBER_KINDS,
    SPECS,
    LetterKind,
    entry_number_problems,
    merge_data,
    sample_data,
    template_name,
)
from .selectors import letter_defaults

# Kinds a batch may produce: the others need facts only a person can supply per client.
BATCH_KINDS = (LetterKind.REACTIVATION, LetterKind.FILING_AUTHORIZATION)


def letterhead_logo_uri(client: Client) -> str:
    """The client's logo as a data: URI (private storage has no URL; the PDF and preview embed it)."""
    if not client.letterhead_logo:
        return ""
    with client.letterhead_logo.open("rb") as handle:
        content = handle.read()
    mimetype = "image/png" if client.letterhead_logo.name.lower().endswith(".png") else "image/jpeg"
    return f"data:{mimetype};base64,{base64.b64encode(content).decode()}"


def letter_html(*, data: dict, logo_uri: str = "") -> str:
    """The letter as a standalone HTML document: the preview shows it, WeasyPrint prints it."""
    # The stored merge data keeps the date as ISO text; the letter prints it in words.
    letter_date = date.fromisoformat(data["letter_date"])
    return render_to_string(
        template_name(data["kind"]), {"letter": data, "logo_uri": logo_uri, "letter_date": letter_date}
    )


def letter_pdf(html: str) -> bytes:
    from weasyprint import HTML  # imported here: loading Pango costs time every web process would pay

    return HTML(string=html).write_pdf()


def letter_sample_html(*, kind: str) -> str:
    data = sample_data(kind=kind, brokerage_name=settings.BROKERAGE_NAME, letter_date=timezone.localdate())
    return letter_html(data=data)


def letter_merge_from_form(*, kind: str, cleaned: dict) -> dict:
    return merge_data(
        kind=kind,
        company={
            k: cleaned.get(k, "")
            for k in ("company_name", "address_line1", "address_line2", "city", "state", "postal_code")
        },
        importer_numbers=cleaned["importer_numbers"],
        signer_name=cleaned["signer_name"],
        signer_title=cleaned["signer_title"],
        details=cleaned.get("details", ""),
        brokerage_name=settings.BROKERAGE_NAME,
        letter_date=timezone.localdate(),
    )


def _next_version(*, client: Client, kind: str) -> int:
    # Lock the client row so two generations of the same kind cannot take the same number
    # (the unique constraint is the backstop on databases without row locks).
    Client.objects.select_for_update().filter(pk=client.pk).first()
    latest = Letter.objects.filter(client=client, kind=kind).aggregate(v=Max("version"))["v"]
    return (latest or 0) + 1


def _create_letter(
    *, actor: User | None, client: Client, data: dict, batch: LetterBatch | None = None
) -> Letter:
    letter = Letter.objects.create(
        client=client,
        kind=data["kind"],
        version=_next_version(client=client, kind=data["kind"]),
        data=data,
        created_by=actor,
        batch=batch,
    )
    audit.record(
        client=client,
        actor=actor,
        action="client.letter_generated",
        subject=letter,
        data={
            "kind": letter.kind,
            "version": letter.version,
            **({"batch": str(batch.public_id)} if batch else {}),
        },
    )
    return letter


def letter_request(*, actor: User, client: Client, data: dict) -> Letter:
    """Create the next version of a letter and render it in the background."""
    if data.get("kind") not in SPECS:
        raise ValueError(f"Unknown letter kind: {data.get('kind')!r}")
    if data["kind"] in ENTRY_NUMBER_KINDS and (problems := entry_number_problems(data.get("details", []))):
        raise ValidationError({"details": problems})
    with transaction.atomic():
        letter = _create_letter(actor=actor, client=client, data=data)
        enqueue_on_commit("clients.letters_tasks.render_letter", letter.pk)
    return letter


def letter_regenerate(*, actor: User, letter: Letter) -> Letter:
    """A new version with the same merge data, dated today, on the client's current letterhead."""
    return letter_request(
        actor=actor,
        client=letter.client,
        data={**letter.data, "letter_date": timezone.localdate().isoformat()},
    )


def _render_into(letter: Letter) -> None:
    started = time.perf_counter()
    pdf = letter_pdf(letter_html(data=letter.data, logo_uri=letterhead_logo_uri(letter.client)))
    letter.render_ms = round(1000 * (time.perf_counter() - started))
    letter.file.save(letter.filename, ContentFile(pdf), save=False)
    letter.save(update_fields=["file", "render_ms"])


def letter_build(*, letter: Letter) -> Letter:
    """Render the letter's PDF into its row (the task's one call). A redelivered task does not redo it."""
    if letter.status == Letter.Status.SUCCEEDED and letter.file:
        return letter
    job_start(letter, total=1)
    try:
        _render_into(letter)
    except Exception as exc:
        job_fail(letter, message=f"The letter could not be rendered: {exc}")
        raise
    job_succeed(letter, message="Ready to download.")
    return letter


def letter_batch_request(*, actor: User, kind: str, clients: list[Client]) -> LetterBatch:
    if kind not in BATCH_KINDS:
        raise ValueError(f"{kind} letters need per-client facts and cannot be made in a batch")
    with transaction.atomic():
        batch = LetterBatch.objects.create(
            kind=kind, client_ids=[c.pk for c in clients], created_by=actor, total_count=len(clients)
        )
        enqueue_on_commit("clients.letters_tasks.render_letter_batch", batch.pk)
    return batch


def letter_batch_build(*, batch: LetterBatch) -> LetterBatch:
    """One letter per selected client from its profile defaults; a redelivered run skips finished ones."""
    with (
        scopes_disabled()
    ):  # a batch spans clients: each letter is then written inside its own client's scope
        clients = list(Client.objects.filter(pk__in=batch.client_ids).order_by("legal_name"))
        done_ids = set(
            Letter.objects.filter(batch=batch, status=Letter.Status.SUCCEEDED).values_list(
                "client_id", flat=True
            )
        )
    job_start(batch, total=len(clients))
    try:
        for done, client in enumerate(clients, start=1):
            if client.pk not in done_ids:
                with scope(client=client):
                    _batch_letter(batch=batch, client=client)
            job_progress(batch, done=done, message=f"{done} of {len(clients)} letters rendered.")
    except Exception as exc:
        job_fail(batch, message=f"The batch stopped: {exc}")
        raise
    job_succeed(batch, message=f"{len(clients)} letters rendered.")
    return batch


def _batch_letter(*, batch: LetterBatch, client: Client) -> None:
    letter = Letter.objects.filter(batch=batch, client=client).first()
    if letter is None:
        defaults = letter_defaults(client=client)
        data = letter_merge_from_form(
            kind=batch.kind,
            cleaned={
                **defaults,
                "importer_numbers": defaults["importer_numbers"].split("\n")
                if defaults["importer_numbers"]
                else [],
            },
        )
        with transaction.atomic():
            letter = _create_letter(actor=batch.created_by, client=client, data=data, batch=batch)
    letter_build(letter=letter)
