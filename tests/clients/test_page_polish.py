"""What a user sees on the portal's frame and client pages: a staff menu that wraps or collapses instead of
widening the page, Bootstrap checkboxes (box, then label) in every form, and a letter page whose whole
section (status, actions, versions) refreshes when the PDF is ready.

Pages are read with the small HTML tree of tests/refunds/test_page_polish.py.
"""

from pathlib import Path

from django.conf import settings
from django.template.loader import render_to_string
from django.urls import reverse
from django_scopes import scopes_disabled

from clients.letters.forms import LetterForm
from clients.models import Letter
from clients.onboarding.forms import SpecialCasesForm
from tests.factories import staff_user
from tests.html_tree import Node, parse, tree

APP_CSS = Path(settings.BASE_DIR, "static", "css", "app.css").read_text()


def url(name, slug="client-a", **kwargs):
    return reverse(f"clients:{name}", kwargs={"client_slug": slug, **kwargs})


def _navbar(page: Node) -> Node:
    (nav,) = [n for n in page.find_all("nav") if "navbar" in n.classes]
    return nav


def _elements(node: Node) -> list[Node]:
    return [c for c in node.children if isinstance(c, Node)]


# --- The menu bar ----------------------------------------------------------------------------------------


def test_staff_menu_collapses_below_xl_and_wraps_above(client, client_a):
    manager = staff_user(manager=True, full_name="Alexandrina-Konstantina Papadopoulou-Featherstonehaugh")
    client.force_login(manager)

    for address in (reverse("staff:caseload"), url("overview")):
        nav = _navbar(tree(client.get(address)))
        assert "navbar-expand-xl" in nav.classes and "navbar-expand-lg" not in nav.classes
        (items,) = [ul for ul in nav.find_all("ul") if "staff-nav" in ul.classes]
        labels = [a.text() for a in items.find_all("a")]
        assert labels[:3] == ["Caseload", "Deadlines", "Onboarding"] and "Assignments" in labels
        (user_menu,) = [ul for ul in nav.find_all("ul") if "user-nav" in ul.classes]
        (name,) = [s for s in user_menu.find_all("span") if "user-name" in s.classes]
        assert name.text() == "Alexandrina-Konstantina"
        toggle = name.parent
        assert toggle.attrs["title"] == manager.full_name
        assert manager.email in user_menu.text() and "Log out" in user_menu.text()
    # The classes the page relies on are styled: the staff items wrap, the user menu keeps its width,
    # a long name ends in an ellipsis.
    assert ".navbar-expand-xl .staff-nav { flex-wrap: wrap; }" in APP_CSS
    assert ".navbar-expand-xl .user-nav { flex-shrink: 0; }" in APP_CSS
    assert ".user-nav .user-name {" in APP_CSS and "text-overflow: ellipsis" in APP_CSS


def test_client_users_keep_the_short_menu_expanded_from_lg(client, member_a):
    client.force_login(member_a)
    nav = _navbar(tree(client.get(url("overview"))))
    assert "navbar-expand-lg" in nav.classes
    assert not [ul for ul in nav.find_all("ul") if "staff-nav" in ul.classes]
    (name,) = [s for s in nav.find_all("span") if "user-name" in s.classes]
    assert name.text() == member_a.get_short_name()


# --- Checkboxes ------------------------------------------------------------------------------------------


def _check(page: Node, input_id: str) -> tuple[Node, Node, Node]:
    """(wrapper, input, label) of one single checkbox; asserts the Bootstrap form-check order."""
    box = page.by_id(input_id)
    wrapper = box.parent
    assert "form-check" in wrapper.classes and "field" in wrapper.classes
    assert box.attrs["type"] == "checkbox" and "form-check-input" in box.classes
    elements = _elements(wrapper)
    assert elements[0] is box and elements[1].tag == "label"
    label = elements[1]
    assert label.attrs["for"] == input_id and "form-check-label" in label.classes
    return wrapper, box, label


def test_onboarding_special_cases_are_bootstrap_checkboxes(client, client_a, member_a):
    client.force_login(member_a)
    page = tree(client.get(url("onboarding")))

    section = page.by_id("item-special-cases")
    for name, field in SpecialCasesForm.base_fields.items():
        _, box, label = _check(section, f"id_{name}")
        assert label.text() == field.label
        assert "checked" not in box.attrs
    assert not [lbl for lbl in section.find_all("label") if "form-label" in lbl.classes]


def test_authorization_checkbox_is_bootstrap_and_shows_its_error(client, client_a, admin_a):
    client.force_login(admin_a)
    page = tree(client.get(url("onboarding")))
    _, box, label = _check(page.by_id("item-filing_authorization"), "id_confirm")
    assert label.text().startswith("I may act for the company, and I authorize the brokerage")
    assert label.text().endswith("*")  # required
    assert "is-invalid" not in box.classes

    refused = client.post(url("onboarding_authorize"), {"importer_numbers": ["12-345678900"]})
    wrapper, box, _ = _check(tree(refused), "id_confirm")
    assert "is-invalid" in box.classes and "has-error" in wrapper.classes
    assert "This field is required." in wrapper.text()


def test_choice_groups_are_fieldsets_of_bootstrap_options(client, client_a, member_a):
    client.force_login(member_a)
    section = tree(client.get(url("onboarding"))).by_id("item-ace_account")
    (group,) = [f for f in section.find_all("fieldset") if "choices" in f.classes]
    (legend,) = group.find_all("legend")
    assert legend.text() == "How do you get your ACE Portal account? *"
    options = [div for div in group.find_all("div") if "form-check" in div.classes]
    assert [div.text() for div in options] == ["New application", "EIN already linked to an ACE account"]
    for index, option in enumerate(options):
        box, label = _elements(option)
        assert box.tag == "input" and box.attrs["type"] == "radio" and "form-check-input" in box.classes
        assert box.attrs["id"] == f"id_path_{index}" and label.attrs["for"] == box.attrs["id"]
        assert "form-check-label" in label.classes
    # Only the inputs carry the class, not the group's own container.
    assert "form-check-input" not in group.by_id("id_path").classes


def test_text_fields_keep_their_label_above_the_control():
    page = parse(render_to_string("includes/form.html", {"form": LetterForm(kind="reactivation")}))
    field = [div for div in page.find_all("div") if "field" in div.classes][0]
    label, control = _elements(field)[:2]
    assert label.tag == "label" and "form-label" in label.classes and label.text() == "Company name *"
    assert control.tag == "input" and control.attrs["id"] == label.attrs["for"] == "id_company_name"
    assert not page.find_all("fieldset") and not [n for n in page.find_all() if "form-check" in n.classes]


# --- The letter page ---------------------------------------------------------------------------------------


def _letter_form():
    return {
        "company_name": "Alpha Imports LLC",
        "address_line1": "1 Dock Street",
        "address_line2": "",
        "city": "Newark",
        "state": "NJ",
        "postal_code": "07114",
        "importer_numbers": "12-345678900",
        "signer_name": "Dana Alvarez",
        "signer_title": "President",
        "details": "Last used in 2023.",
        "generate": "",
    }


def test_letter_page_refreshes_status_actions_and_versions_together(
    client, client_a, staff_a, member_a, django_capture_on_commit_callbacks
):
    client.force_login(staff_a)
    with django_capture_on_commit_callbacks() as render_jobs:
        response = client.post(url("letter_new", kind="reactivation"), _letter_form())
    assert response.status_code == 302
    with scopes_disabled():
        letter = Letter.objects.get()
    address = letter.get_absolute_url()

    # While the PDF renders, the section polls as one piece; the status card inside does not poll itself.
    section = tree(client.get(address)).by_id("letter-status")
    assert section.attrs["hx-get"] == address and section.attrs["hx-trigger"] == "every 1s"
    card = section.find_all("div", id=f"job-{letter.public_id}")[0]
    assert "hx-get" not in card.attrs
    assert "Queued" in card.text()
    (version,) = section.by_id("letter-versions").find_all("li")
    assert version.text().endswith(", Queued")
    assert "Regenerate as a new version" not in section.text()

    for job in render_jobs:
        job()

    # The next poll brings the finished section: Done, the download, v1 Done with its PDF, the regenerate
    # button; and it stops polling.
    polled = tree(client.get(address, HTTP_HX_REQUEST="true"))
    (section,) = _elements(polled)
    assert section.attrs["id"] == "letter-status" and "hx-get" not in section.attrs
    assert "Done" in section.by_id(f"job-{letter.public_id}").text()
    download = url("letter_download", public_id=letter.public_id)
    assert download in {a.attrs["href"] for a in section.by_id(f"job-{letter.public_id}").find_all("a")}
    (version,) = section.by_id("letter-versions").find_all("li")
    assert ", Done" in version.text() and "Running" not in version.text() and "Queued" not in version.text()
    assert download in {a.attrs["href"] for a in version.find_all("a")}
    (form,) = section.find_all("form")
    assert form.attrs["action"] == url("letter_regenerate", public_id=letter.public_id)
    assert form.text() == "Regenerate as a new version"

    client.force_login(member_a)
    polled = tree(client.get(address, HTTP_HX_REQUEST="true"))
    assert "Regenerate as a new version" not in polled.text() and ", Done" in polled.text()
