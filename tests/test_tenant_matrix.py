"""Every page under /c/<client_slug>/, enumerated from the URLconf, against every kind of visitor.

Client A's data exists in every case. Nobody outside A (a member or admin of client B, B's staff, a user
of no client, a deactivated user, staff who have not set up two-factor yet) ever sees it: 404 (or the
login / two-factor page), never 403, never an empty page, and A's data is not in the response body. Every
page that takes an object is also asked for A's object under client B's URL, by everyone who may open B:
404. New pages are covered automatically; a page with a URL parameter this file does not know fails until
OBJECT_KWARGS (tests/tenant_world.py) says how to build one. Each checked case is counted
(tests/security/ledger.py).
"""

import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from tests.html_tree import INLINE_HANDLER, INLINE_SCRIPT
from tests.security import ledger
from tests.tenant_world import ADMIN_ONLY, INSIDERS, OBJECT_KWARGS, OUTSIDERS, ROLES, assert_no_a_data


def _client_patterns() -> list[tuple[str, list[str]]]:
    """(namespaced url name, its parameters) for every pattern below c/<slug:client_slug>/."""
    found = []

    def walk(patterns, prefix_params, namespace, inside_client):
        for p in patterns:
            params = prefix_params + list(p.pattern.converters.keys())
            here = inside_client or "client_slug" in p.pattern.converters
            if isinstance(p, URLResolver):
                ns = namespace
                if p.namespace:
                    ns = f"{namespace}:{p.namespace}" if namespace else p.namespace
                walk(p.url_patterns, params, ns, here)
            elif isinstance(p, URLPattern) and here and p.name:
                found.append((f"{namespace}:{p.name}" if namespace else p.name, params))

    walk(get_resolver().url_patterns, [], "", False)
    return sorted(found)


CLIENT_PAGES = _client_patterns()


# Pages only these roles may use (everyone else gets the outsider's 404): staff review the checklist and
# confirm code windows; only the client's own admin gives or revokes the filing authorization.
ONLY_ROLES = {
    "clients:onboarding_item_verify": {"staff_a", "manager"},
    "clients:importer_number_verify": {"staff_a", "manager"},
    "clients:onboarding_item_reopen": {"staff_a", "manager"},
    "clients:onboarding_window_confirm": {"staff_a", "manager"},
    "clients:onboarding_authorize": {"admin_a"},
    # The refund bank account: the client's admins and the brokerage change it; members only read it.
    "clients:onboarding_ach": {"admin_a", "staff_a", "manager"},
    "clients:onboarding_authorization_revoke": {"admin_a"},
    # Staff build and file CAPE declarations (client admins too only when CAPE_CLIENT_ADMINS_MAY_BUILD).
    "refunds:declaration_new": {"staff_a", "manager"},
    "refunds:build_selected": {"staff_a", "manager"},
    "refunds:declaration_filing": {"staff_a", "manager"},
    "refunds:declaration_discard": {"staff_a", "manager"},
    "refunds:declaration_allow_refile": {"staff_a", "manager"},
    # Staff write letters; everyone in the client reads and downloads them.
    "clients:letter_new": {"staff_a", "manager"},
    "clients:letter_preview": {"staff_a", "manager"},
    "clients:letter_regenerate": {"staff_a", "manager"},
    # Staff build, edit and file protests and record CBP's decisions (client admins too only when
    # PROTESTS_CLIENT_ADMINS_MAY_BUILD); everyone in the client reads them and downloads the PDF and CSV.
    "protests:new": {"staff_a", "manager"},
    # Only the client's own admin gives or revokes the protest authorization.
    "protests:authorize": {"admin_a"},
    "protests:authorization_revoke": {"admin_a"},
    "protests:description": {"staff_a", "manager"},
    "protests:entry_add": {"staff_a", "manager"},
    "protests:entry_remove": {"staff_a", "manager"},
    "protests:discard": {"staff_a", "manager"},
    "protests:pdf_request": {"staff_a", "manager"},
    "protests:filing": {"staff_a", "manager"},
    "protests:accelerated": {"staff_a", "manager"},
    "protests:decision": {"staff_a", "manager"},
    "protests:decision_list": {"staff_a", "manager"},
    "protests:decision_list_status": {"staff_a", "manager"},
    "protests:decision_list_problems": {"staff_a", "manager"},
    "protests:withdraw": {"staff_a", "manager"},
    # Staff mark or clear flags on several entries at once.
    "entries:bulk": {"staff_a", "manager"},
}
# Pages with nothing to show until something is uploaded (the logo has none in this world).
EMPTY_404 = {"clients:letterhead_logo"}


def _url(name, params, w, slug=None):
    kwargs = {"client_slug": slug or w.client.slug}
    extra = [p for p in params if p != "client_slug"]
    if extra:
        assert name in OBJECT_KWARGS, f"{name} takes {extra}: add it to OBJECT_KWARGS so the matrix covers it"
        kwargs.update(OBJECT_KWARGS[name](w))
    return reverse(name, kwargs=kwargs)


def visit(client, url):
    response = client.get(url)
    if response.status_code == 405:  # an action: try it the way a form would send it
        response = client.post(url, {})
    return response


def test_matrix_covers_every_client_page():
    names = {name for name, _ in CLIENT_PAGES}
    assert {"clients:overview", "clients:team", "entries:list", "refunds:claims"} <= names
    assert len(CLIENT_PAGES) >= 15


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("name", "params"), CLIENT_PAGES, ids=[n for n, _ in CLIENT_PAGES])
def test_client_page_access(client, world, request, name, params, role):
    url = _url(name, params, world)
    if role != "anonymous":
        client.force_login(request.getfixturevalue(role))

    response = visit(client, url)

    if role in ("anonymous", "inactive_a"):
        assert response.status_code == 302
        assert response.url.startswith(reverse("account_login"))
    elif role == "staff_nomfa_a":
        assert response.status_code == 302
        assert response.url == reverse("mfa_activate_totp")
    elif role in OUTSIDERS:
        assert response.status_code == 404, f"{role} must not reach {url}"
    elif role == "member_a" and name in ADMIN_ONLY:
        assert response.status_code == 404
    elif name in ONLY_ROLES and role not in ONLY_ROLES[name]:
        assert response.status_code == 404, f"{role} must not use {url}"
    elif name in EMPTY_404:
        assert response.status_code == 404
    else:
        assert response.status_code in (200, 302), f"{role} should reach {url}, got {response.status_code}"
        if response.status_code == 302:
            assert response.url.startswith(f"/c/{world.client.slug}/")
    if role not in INSIDERS:
        assert_no_a_data(response, url, role)
    elif response.status_code == 200 and response["Content-Type"].startswith("text/html"):
        html = response.content.decode()  # the CSP forbids inline script: no page may need any
        assert not INLINE_SCRIPT.search(html) and not INLINE_HANDLER.search(html), f"inline script on {url}"
    ledger.record("client page", url, role, response.status_code)


# Parameters that name one of A's objects (not a fixed kind or checklist key).
OBJECT_PARAMS = {"public_id", "membership_id", "invitation_id", "importer_id", "entry_number"}
OBJECT_PAGES = [(n, p) for n, p in CLIENT_PAGES if OBJECT_PARAMS & set(p)]


@pytest.mark.parametrize("role", ["member_b", "admin_b", "staff_b", "manager"])
@pytest.mark.parametrize(("name", "params"), OBJECT_PAGES, ids=[n for n, _ in OBJECT_PAGES])
def test_a_object_under_b_url_is_404(client, world, client_b, request, name, params, role):
    """Everyone who may open client B asks for A's object through B's pages: it is not there."""
    url = _url(name, params, world, slug=client_b.slug)
    client.force_login(request.getfixturevalue(role))

    response = visit(client, url)

    assert response.status_code == 404, f"{role} reached client A's object through {url}"
    assert_no_a_data(response, url, role)
    ledger.record("A's object under B's URL", url, role, response.status_code)


@pytest.mark.parametrize("role", ["member_a", "admin_a", "staff_a", "manager"])
def test_client_pages_render_200_for_insiders(client, world, request, role):
    client.force_login(request.getfixturevalue(role))
    for name, params in CLIENT_PAGES:
        if name in OBJECT_KWARGS or name in EMPTY_404 or (role == "member_a" and name in ADMIN_ONLY):
            continue
        if name in ONLY_ROLES and role not in ONLY_ROLES[name]:
            continue
        response = client.get(_url(name, params, world))
        if response.status_code == 405:
            continue
        assert response.status_code == 200, name
        if not response["Content-Type"].startswith("text/html"):
            continue  # a download (the importer's own CAPE file): a CBP template has no room for a name
        html = response.content.decode()
        assert world.client.legal_name in html, f"{name} must show whose data it is"
        # the CSP forbids inline script: none is needed
        assert not INLINE_SCRIPT.search(html) and not INLINE_HANDLER.search(html), name


def test_unknown_client_and_forbidden_client_look_the_same(client, world, member_b):
    client.force_login(member_b)
    forbidden = client.get(reverse("clients:overview", kwargs={"client_slug": world.client.slug}))
    missing = client.get(reverse("clients:overview", kwargs={"client_slug": "no-such-client"}))
    assert forbidden.status_code == missing.status_code == 404
    token = re.compile(rb'name="csrfmiddlewaretoken" value="[^"]+"')
    assert token.sub(b"", forbidden.content) == token.sub(b"", missing.content)
