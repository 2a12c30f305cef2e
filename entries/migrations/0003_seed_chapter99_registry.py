from django.db import migrations


def seed(apps, schema_editor):
    from domain.chapter99 import DEFAULT_REGISTRY

    Rule = apps.get_model("entries", "Chapter99Rule")
    if Rule.objects.exists():
        return
    for rule in DEFAULT_REGISTRY.rules:
        Rule.objects.create(
            program=rule.program,
            start=rule.start,
            end=rule.end,
            carries_duty=rule.carries_duty,
            effective_from=rule.effective_from,
            effective_to=rule.effective_to,
            source=rule.source[:300],
        )


class Migration(migrations.Migration):
    dependencies = [("entries", "0002_history_flags_registry")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
