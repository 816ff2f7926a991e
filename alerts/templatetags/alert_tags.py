from django import template

from .. import selectors

register = template.Library()


@register.simple_tag
def incident_alerts(incident_id: int) -> list:
    """The alerts that opened or joined this incident (for the panel on the incident page)."""
    return selectors.incident_alerts(incident_id=incident_id)
