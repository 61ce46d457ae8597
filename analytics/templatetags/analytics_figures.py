"""Template helpers of Analytics: a school's census and performance figures as lines."""

from django import template

from analytics.export import release_lines as _release_lines

register = template.Library()


@register.simple_tag
def release_lines(figures, national=None):
    """(label, text, England's text) for each figure of ``figures``
    (analytics.selectors.ReleaseFigures), England's from ``national`` when given."""
    return _release_lines(figures, national or None)
