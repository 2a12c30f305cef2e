"""build_protests writes the drafts' PDFs and CSVs as the page would and prints one line per draft."""

import io

from django.core.management import call_command
from django.urls import reverse
from pypdf import PdfReader

from tests.protests.helpers import IOR_A, build, protest_entries, today


def test_build_protests_writes_what_the_page_offers(tmp_path, client, client_a, staff_a, member_a):
    protest_entries(client_a, 3, port="2704", duty="100.00")
    protest_entries(client_a, 2, start=10, port="1001", days=170, duty="50.25")
    out = io.StringIO()
    call_command(
        "build_protests",
        f"--client={client_a.slug}",
        f"--as-of={today().isoformat()}",
        f"--output-dir={tmp_path}",
        stdout=out,
    )
    assert out.getvalue().splitlines() == [f"1001\t{IOR_A}\t2\t100.50", f"2704\t{IOR_A}\t3\t300.00"]
    files = sorted(p.name for p in tmp_path.iterdir())
    assert len(files) == 4 and sum(name.endswith(".pdf") for name in files) == 2

    # Nothing was reserved: the portal builds the same drafts, and its CSV is byte for byte the command's.
    protests = build(client_a, staff_a)
    client.force_login(member_a)
    for protest in protests:
        response = client.get(
            reverse("protests:csv", kwargs={"client_slug": client_a.slug, "public_id": protest.public_id})
        )
        name = response["Content-Disposition"].split('filename="')[1].rstrip('"')
        assert (tmp_path / name).read_bytes() == response.content
        pdf = tmp_path / name.replace("_entries.csv", ".pdf")
        text = " ".join(page.extract_text() for page in PdfReader(pdf).pages)
        assert protest.protestant_name in text and protest.port in text
