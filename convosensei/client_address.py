"""The address a request came from, for the login lockout (django-axes' AXES_CLIENT_IP_CALLABLE).

Behind TRUSTED_PROXY_COUNT reverse proxies, each of which appends the address it was reached from to
X-Forwarded-For (nginx's `$proxy_add_x_forwarded_for`, cloud load balancers), the client is the entry that many places
from the right: the entries left of it are whatever the client wrote, and forging them changes nothing. Without
proxies (the default) only REMOTE_ADDR counts, so a forged header is ignored. django-ipware, axes' other option,
counts proxies as entries of the header, which the last proxy (REMOTE_ADDR) is not: with one nginx it found no client.
"""

from __future__ import annotations

from ipaddress import ip_address

from django.conf import settings


def client_address(request) -> str | None:
    """The client's address as the first trusted proxy saw it, else REMOTE_ADDR (also when the header is short)."""
    remote = request.META.get("REMOTE_ADDR")
    proxies = settings.TRUSTED_PROXY_COUNT
    if not proxies:
        return remote
    hops = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop.strip()]
    if len(hops) < proxies:
        return remote  # a proxy that does not append: counting by address is all that is left
    try:
        return str(ip_address(hops[-proxies]))
    except ValueError:
        return remote
