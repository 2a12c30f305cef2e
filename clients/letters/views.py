"""Request letters: staff pick a kind, review the HTML preview, generate; everyone in the client downloads.

The PDF is rendered by a Celery task (letters.tasks), never here; pages show the letter's job row.
"""

from urllib.parse import urlencode

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_POST

from brokerage.storage import file_response

from ..tenancy import STAFF_ROLES, manager_required, require_client_role
from . import selectors, services
from .forms import LetterBatchForm, LetterForm
from .kinds import SPECS, LetterKind, profile_differences


def _kind_or_404(kind: str) -> str:
    if kind not in SPECS:
        raise Http404("No such letter")
    return kind


def letters(request, client_slug):
    return render(
        request,
        "clients/letters.html",
        {"letters": selectors.letters_for_client(client=request.client), "kinds": LetterKind.choices},
    )


@require_client_role(*STAFF_ROLES)
def letter_new(request, client_slug, kind):
    kind = _kind_or_404(kind)
    client = request.client
    form = LetterForm(request.POST or None, kind=kind, initial=selectors.letter_defaults(client=client))
    preview_url = ""
    differences = []
    if request.method == "POST" and form.is_valid():
        data = services.letter_merge_from_form(kind=kind, cleaned=form.cleaned_data)
        if "generate" in request.POST:
            letter = services.letter_request(actor=request.user, client=client, data=data)
            messages.success(request, f"{letter} is being rendered; it appears below when ready.")
            return redirect(letter)
        # The letter itself is served by letter_preview (its own page, with the policy its inline style needs).
        fields = {k: v for k, v in request.POST.items() if k in form.fields}
        preview_url = reverse("clients:letter_preview", kwargs={"client_slug": client.slug, "kind": kind})
        preview_url += "?" + urlencode(fields)
        if kind == LetterKind.SUB_ACCOUNT:
            differences = profile_differences(form.cleaned_data, selectors.company_on_file(client=client))
    return render(
        request,
        "clients/letters_new.html",
        {
            "form": form,
            "kind": kind,
            "kind_label": LetterKind(kind).label,
            "preview_url": preview_url,
            "differences": differences,
        },
    )


# A letter page carries its own <style> (WeasyPrint reads the same file): it may use inline style and
# data: images (the logo), nothing else, and only this site may frame it.
LETTER_POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'self'"


def _letter_response(html: str) -> HttpResponse:
    response = HttpResponse(html)
    response["Content-Security-Policy"] = LETTER_POLICY
    return response


@xframe_options_sameorigin
@require_client_role(*STAFF_ROLES)
def letter_preview(request, client_slug, kind):
    """The letter as the PDF will print it, from the form's values (the preview frame of letter_new)."""
    kind = _kind_or_404(kind)
    form = LetterForm(request.GET, kind=kind)
    if not form.is_valid():
        return _letter_response("<p>Fill in the form to preview the letter.</p>")
    data = services.letter_merge_from_form(kind=kind, cleaned=form.cleaned_data)
    return _letter_response(
        services.letter_html(data=data, logo_uri=services.letterhead_logo_uri(request.client))
    )


def _download_url(letter) -> str:
    if not letter.file:
        return ""
    return reverse(
        "clients:letter_download", kwargs={"client_slug": letter.client.slug, "public_id": letter.public_id}
    )


def letter(request, client_slug, public_id):
    letter = selectors.letter_for_client(client=request.client, public_id=public_id)
    versions = selectors.letters_for_client(client=request.client).filter(kind=letter.kind)
    context = {"job": letter, "letter": letter, "download_url": _download_url(letter), "versions": versions}
    # htmx polls the section that changes when the job finishes (status, actions, versions), not the card alone.
    template = (
        "clients/_letter_status.html" if request.headers.get("HX-Request") else "clients/letters_detail.html"
    )
    return render(request, template, context)


def letter_download(request, client_slug, public_id):
    letter = selectors.letter_for_client(client=request.client, public_id=public_id)
    if not letter.file:
        raise Http404("Not rendered yet")
    return file_response(
        letter.file, filename=f"{client_slug}-{letter.filename}", content_type="application/pdf"
    )


@require_POST
@require_client_role(*STAFF_ROLES)
def letter_regenerate(request, client_slug, public_id):
    letter = selectors.letter_for_client(client=request.client, public_id=public_id)
    new = services.letter_regenerate(actor=request.user, letter=letter)
    messages.success(request, f"{new} is being rendered; version {letter.version} is kept.")
    return redirect(new)


@manager_required
def staff_letters(request):
    """Managers: the letter templates (previewed with sample data) and batches for many clients."""
    form = LetterBatchForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        batch = services.letter_batch_request(
            actor=request.user, kind=form.cleaned_data["kind"], clients=list(form.cleaned_data["clients"])
        )
        messages.success(request, f"{batch} started.")
        return redirect(batch)
    return render(request, "staff/letters.html", {"form": form, "kinds": LetterKind.choices})


@manager_required
def staff_letter_sample(request, kind):
    """The letter template itself, filled with sample data: exactly what a PDF of it would print."""
    return _letter_response(services.letter_sample_html(kind=_kind_or_404(kind)))


@manager_required
def staff_letter_batch(request, public_id):
    batch = selectors.letter_batch_by_id(public_id=public_id)
    if request.headers.get("HX-Request"):
        return render(request, "includes/job_status.html", {"job": batch})
    letters = selectors.letters_in_batch(batch=batch)
    return render(request, "staff/letter_batch.html", {"job": batch, "batch": batch, "letters": letters})
