from django import template

register = template.Library()


@register.filter
def email_for(delivery, user) -> str:
    """{{ delivery|email_for:user }}: the address whole to its owner, only its domain to others."""
    return delivery.email_for(user)
