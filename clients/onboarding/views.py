"""The onboarding checklist pages (below /c/<client_slug>/onboarding/, in the client's scope) and the staff
overview. Each action posts to its own URL, calls one service and returns to its item on the checklist;
an invalid form (or one the service refuses) re-renders the checklist with the errors next to the fields
(brokerage.forms.submit_form)."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.http import content_disposition_header
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from brokerage.forms import submit_form
from brokerage.storage import file_response

from ..tenancy import ADMIN_ROLES, STAFF_ROLES, require_client_role, staff_required
from . import authorizations, code_window, selectors, services
from .ach import ach_enrollment_update
from .checklist import (
    ACH_REJECTED_RECOVERY,
    CONTACTS,
    DERIVED_STATUS_KEYS,
    SPECIAL_CASE_KEYS,
    AchStatus,
    ItemKey,
    ItemStatus,
    WindowStatus,
    ace_steps,
)
from .forms import (
    AcePathForm,
    AceStepsForm,
    AchForm,
    AuthorizationForm,
    CodeWindowForm,
    EvidenceForm,
    Form5106Form,
    ItemUpdateForm,
    ReviewForm,
    SpecialCasesForm,
    SubAccountForm,
)

STATUS_BADGES = {
    ItemStatus.NOT_STARTED: "text-bg-light border",
    ItemStatus.IN_PROGRESS: "text-bg-primary",
    ItemStatus.WAITING_ON_CBP: "text-bg-info",
    ItemStatus.BLOCKED: "text-bg-danger",
    ItemStatus.DONE: "text-bg-success",
    ItemStatus.NOT_APPLICABLE: "text-bg-secondary",
}


def _client_ip(request) -> str | None:
    # REMOTE_ADDR is the peer that connected to the application server. Behind a reverse proxy that is the
    # proxy's address; X-Forwarded-For is deliberately not read, because any client can forge it. When a
    # trusted proxy is put in front, have it set REMOTE_ADDR (or replace this with the hop it appends).
    return request.META.get("REMOTE_ADDR") or None


def _back(request, key: str = ""):
    if request.POST.get("return_to") == "staff" and request.user.is_broker_staff:
        return redirect("staff:onboarding")
    url = reverse("clients:onboarding", kwargs={"client_slug": request.client.slug})
    return redirect(f"{url}#item-{key}" if key else url)


def _item_forms(item, *, staff: bool) -> dict:
    prefix = f"item-{item.key}"
    return {
        "update_form": ItemUpdateForm(
            prefix=prefix,
            staff=staff,
            derived=item.key in DERIVED_STATUS_KEYS,
            initial={
                "status": item.status,
                "notes": item.notes,
                "owner": item.owner,
                "due_date": item.due_date,
            },
        ),
        "evidence_form": EvidenceForm(prefix=f"evidence-{item.key}"),
        "review_form": ReviewForm(prefix=f"review-{item.key}"),
    }


def _page(request, *, item_forms: tuple[str, dict] | None = None, **bound):
    """The checklist, with any bound (invalid) form in place of its blank one."""
    client, access = request.client, request.client_access
    checklist = selectors.client_checklist(client=client, now=timezone.now(), today=timezone.localdate())
    profile = checklist.profile
    for item in checklist.items:
        forms = _item_forms(item, staff=access.is_staff)
        if item_forms and item_forms[0] == item.key:
            forms.update(item_forms[1])
        for name, form in forms.items():
            setattr(item, name, form)
        item.contacts = CONTACTS.get(item.key, ())
        item.is_special_case = item.key in SPECIAL_CASE_KEYS
        item.has_own_status = item.key in DERIVED_STATUS_KEYS
        item.badge_class = STATUS_BADGES[item.status]
    numbers = selectors.client_importer_numbers(client=client)
    forms = {
        "ace_path_form": AcePathForm(initial={"path": profile.ace_path}),
        "ace_steps_form": AceStepsForm(path=profile.ace_path, initial={"steps": profile.ace_steps_done}),
        "form_5106_form": Form5106Form(
            initial={
                "company_name_5106": profile.company_name_5106 or client.legal_name,
                "poc_name": profile.poc_name,
                "poc_email": profile.poc_email,
            }
        ),
        "window_form": CodeWindowForm(),
        "sub_account_form": SubAccountForm(initial={"state": profile.sub_account}),
        "ach_form": AchForm(
            initial={
                "bank_name": profile.bank_name,
                "routing_number": profile.routing_number,
                "account_last_four": profile.account_last_four,
                "status": profile.ach_status,
            }
        ),
        "special_cases_form": SpecialCasesForm(
            initial={name: getattr(profile, name) for name in profile.SPECIAL_CASE_FIELDS.values()}
        ),
        "authorization_form": AuthorizationForm(
            numbers=numbers,
            initial={
                "importer_numbers": checklist.authorization.importer_numbers
                if checklist.authorization
                else numbers
            },
        ),
    }
    forms.update(bound)
    return render(
        request,
        "clients/onboarding.html",
        {
            "checklist": checklist,
            "profile": profile,
            "ace_steps": ace_steps(profile.ace_path),
            "ach_rejected": profile.ach_status == AchStatus.REJECTED,
            "ach_recovery": ACH_REJECTED_RECOVERY,
            "name_differs": profile.company_name_5106 and profile.company_name_5106 != client.legal_name,
            "importer_numbers": numbers,
            "is_staff": access.is_staff,
            "is_client_admin": access.is_client_admin,
            "may_change_ach": access.role in ADMIN_ROLES,
            **forms,
        },
    )


def onboarding(request, client_slug):
    return _page(request)


@require_POST
def item_update(request, client_slug, key):
    key = selectors.checklist_key(key)
    derived = key in DERIVED_STATUS_KEYS
    form = ItemUpdateForm(
        request.POST, prefix=f"item-{key}", staff=request.client_access.is_staff, derived=derived
    )
    return submit_form(
        request,
        form,
        lambda **data: services.checklist_item_update(
            actor=request.user, client=request.client, key=key, **data
        ),
        success=f"“{ItemKey(key).label}” saved.",
        done=_back(request, key),
        page=lambda form: _page(request, item_forms=(key, {"update_form": form})),
    )


@require_POST
def evidence_upload(request, client_slug, key):
    key = selectors.checklist_key(key)
    form = EvidenceForm(request.POST, request.FILES, prefix=f"evidence-{key}")
    return submit_form(
        request,
        form,
        lambda file: services.evidence_add(actor=request.user, client=request.client, key=key, uploaded=file),
        success=lambda evidence: f"{evidence.original_name} added to “{ItemKey(key).label}”.",
        done=_back(request, key),
        page=lambda form: _page(request, item_forms=(key, {"evidence_form": form})),
    )


def evidence_download(request, client_slug, public_id):
    evidence = selectors.evidence_for_client(client=request.client, public_id=public_id)
    return file_response(evidence.file, filename=evidence.original_name, content_type=evidence.content_type)


@require_POST
def evidence_remove(request, client_slug, public_id):
    evidence = selectors.evidence_for_client(client=request.client, public_id=public_id)
    try:
        services.evidence_remove(actor=request.user, evidence=evidence)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, f"{evidence.original_name} removed.")
    return _back(request, evidence.item.key)


@require_POST
@require_client_role(*STAFF_ROLES)
def item_verify(request, client_slug, key):
    return _review(request, key, services.checklist_item_verify, "verified")


@require_POST
@require_client_role(*STAFF_ROLES)
def item_reopen(request, client_slug, key):
    return _review(request, key, services.checklist_item_reopen, "reopened")


def _review(request, key: str, service, done: str):
    """Staff verify or reopen a checklist item, with the review form's optional note."""
    key = selectors.checklist_key(key)
    form = ReviewForm(request.POST, prefix=f"review-{key}")
    note = form.cleaned_data["note"] if form.is_valid() else ""
    try:
        service(actor=request.user, client=request.client, key=key, note=note)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, f"“{ItemKey(key).label}” {done}.")
    return _back(request, key)


@require_POST
def ace_path(request, client_slug):
    return submit_form(
        request,
        AcePathForm(request.POST),
        lambda path: services.ace_path_choose(actor=request.user, client=request.client, path=path),
        success="Path chosen: the steps for it are listed below.",
        done=_back(request, ItemKey.ACE_ACCOUNT),
        page=lambda form: _page(request, ace_path_form=form),
    )


@require_POST
def ace_steps_save(request, client_slug):
    profile = selectors.onboarding_profile(client=request.client)
    form = AceStepsForm(request.POST, path=profile.ace_path)
    if form.is_valid():
        try:
            item = services.ace_steps_update(
                actor=request.user, client=request.client, steps_done=form.cleaned_data["steps"]
            )
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(
                request, f"ACE steps saved. The ACE Portal account is {item.get_status_display().lower()}."
            )
        return _back(request, ItemKey.ACE_ACCOUNT)
    return _page(request, ace_steps_form=form)


@require_POST
def form_5106(request, client_slug):
    return submit_form(
        request,
        Form5106Form(request.POST),
        lambda **data: code_window.form_5106_update(actor=request.user, client=request.client, **data),
        success="Form 5106 details saved.",
        done=_back(request, ItemKey.FORM_5106),
        page=lambda form: _page(request, form_5106_form=form),
    )


@require_POST
def code_window_propose(request, client_slug):
    return submit_form(
        request,
        CodeWindowForm(request.POST),
        lambda starts_at: code_window.code_window_propose(
            actor=request.user, client=request.client, starts_at=starts_at
        ),
        success=lambda window: (
            f"Code window proposed for {date_format(timezone.localtime(window.starts_at), 'M j, H:i')}. "
            "Your broker team confirms it; then everyone gets a calendar invitation."
        ),
        done=_back(request, ItemKey.FORM_5106),
        page=lambda form: _page(request, window_form=form),
    )


@require_POST
@require_client_role(*STAFF_ROLES)
def code_window_confirm(request, client_slug, public_id):
    window = selectors.code_window_for_client(client=request.client, public_id=public_id)
    try:
        code_window.code_window_confirm(actor=request.user, window=window)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, "Code window confirmed; the calendar invitation is on its way.")
    return _back(request, ItemKey.FORM_5106)


@require_POST
def code_window_cancel(request, client_slug, public_id):
    window = selectors.code_window_for_client(client=request.client, public_id=public_id)
    code_window.code_window_cancel(actor=request.user, window=window)
    messages.success(request, "Code window cancelled.")
    return _back(request, ItemKey.FORM_5106)


def code_window_calendar(request, client_slug, public_id):
    window = selectors.code_window_for_client(client=request.client, public_id=public_id)
    response = HttpResponse(
        code_window.code_window_ics(window=window, cancel=window.status == WindowStatus.CANCELLED),
        content_type="text/calendar; charset=utf-8",
    )
    response["Content-Disposition"] = content_disposition_header(True, "ace-code-window.ics")
    return response


@require_POST
def sub_account(request, client_slug):
    return submit_form(
        request,
        SubAccountForm(request.POST),
        lambda state: services.sub_account_update(actor=request.user, client=request.client, state=state),
        success="Sub-account saved.",
        done=_back(request, ItemKey.SUB_ACCOUNT),
        page=lambda form: _page(request, sub_account_form=form),
    )


@sensitive_post_parameters("account_last_four")
@require_POST
@require_client_role(*ADMIN_ROLES)
def ach(request, client_slug):
    return submit_form(
        request,
        AchForm(request.POST),
        lambda **data: ach_enrollment_update(actor=request.user, client=request.client, **data),
        success="ACH refund enrollment saved.",
        done=_back(request, ItemKey.ACH_ENROLLMENT),
        page=lambda form: _page(request, ach_form=form),
    )


@require_POST
def special_cases(request, client_slug):
    return submit_form(
        request,
        SpecialCasesForm(request.POST),
        lambda **data: services.special_cases_update(actor=request.user, client=request.client, **data),
        success="Special cases saved: the checklist shows the ones that apply.",
        done=_back(request, "special-cases"),
        page=lambda form: _page(request, special_cases_form=form),
    )


@require_POST
@require_client_role("client_admin")
def authorization_grant(request, client_slug):
    return submit_form(
        request,
        AuthorizationForm(request.POST, numbers=selectors.client_importer_numbers(client=request.client)),
        lambda importer_numbers, **_: authorizations.filing_authorization_grant(
            actor=request.user,
            client=request.client,
            importer_numbers=importer_numbers,
            ip_address=_client_ip(request),
        ),
        success="Filing authorization given. You can revoke it here at any time.",
        done=_back(request, ItemKey.FILING_AUTHORIZATION),
        page=lambda form: _page(request, authorization_form=form),
    )


@require_POST
@require_client_role("client_admin")
def authorization_revoke(request, client_slug):
    try:
        authorizations.filing_authorization_revoke(
            actor=request.user, client=request.client, ip_address=_client_ip(request)
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, "Filing authorization revoked: the brokerage no longer files for you.")
    return _back(request, ItemKey.FILING_AUTHORIZATION)


@staff_required
def staff_onboarding(request):
    rows = selectors.staff_onboarding_overview(
        user=request.user, now=timezone.now(), today=timezone.localdate()
    )
    return render(request, "staff/onboarding.html", {"rows": rows})
