"""Form rendering helpers for templates/includes/form.html (every app's forms use that include).

Django widgets carry no CSS classes and the CSP forbids inline styles, so the include adds Bootstrap's classes
where plain CSS on `.field` cannot give the right look (a checkbox or radio needs `form-check-input`).
"""

from django import template
from django.forms import BoundField
from django.forms.boundfield import BoundWidget

register = template.Library()


def _check_classes(field: BoundField) -> str:
    classes = [field.field.widget.attrs.get("class", ""), "form-check-input"]
    if field.errors:
        classes.append("is-invalid")
    return " ".join(c for c in classes if c)


@register.filter
def form_check_input(field: BoundField):
    """A single checkbox with Bootstrap's form-check-input class, marked invalid when the field has errors.

    as_widget keeps what Django adds itself (aria-describedby for the help text, aria-invalid, required).
    """
    return field.as_widget(attrs={"class": _check_classes(field)})


@register.filter
def form_check_options(field: BoundField) -> list[BoundWidget]:
    """The options of a radio or checkbox group, each input with Bootstrap's form-check-input class.

    As BoundField.subwidgets builds them, plus the class (the group's own <div> must not get it, which
    passing it through the widget's attrs would do).
    """
    id_ = field.field.widget.attrs.get("id") or field.auto_id
    attrs = field.build_widget_attrs({"id": id_} if id_ else {})
    attrs["class"] = _check_classes(field)
    return [
        BoundWidget(field.field.widget, option, field.form.renderer)
        for option in field.field.widget.subwidgets(field.html_name, field.value(), attrs=attrs)
    ]
