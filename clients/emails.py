"""Emails are template triplets: <name>_subject.txt, <name>.txt, <name>.html under templates/emails/."""

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string


def send_templated(
    name: str, *, to: list[str], context: dict, attachments: list[tuple[str, bytes, str]] = ()
) -> None:
    context = {"site_url": settings.SITE_URL, "brokerage_name": settings.BROKERAGE_NAME, **context}
    subject = settings.ACCOUNT_EMAIL_SUBJECT_PREFIX + " ".join(
        render_to_string(f"emails/{name}_subject.txt", context).split()
    )
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string(f"emails/{name}.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=to,
    )
    message.attach_alternative(render_to_string(f"emails/{name}.html", context), "text/html")
    for filename, content, mimetype in attachments:
        message.attach(filename, content, mimetype)
    message.send()
