"""Decorators of the dashboard's form views: what a browser gets when a form's URL is reached other than by its form."""

from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect
from django.views.decorators.http import require_http_methods

LOGGED_OUT = "You had been logged out, so nothing was saved or sent: log in, then submit the form again."


def login_required_for_forms(view):
    """login_required that, for a form sent once the login had ended, says on the login form that nothing was saved.

    The form itself is not kept to be sent after logging in: its CSRF token changes with the login, the login may be
    someone else's, and the page it was filled in on may be out of date by then."""
    guarded = login_required(view)

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if request.method == "POST" and not request.user.is_authenticated:
            messages.warning(request, LOGGED_OUT)
        return guarded(request, *args, **kwargs)

    return wrapped


def form_post(*, page: str):
    """A view that takes a dashboard form's POST, logged in (login_required_for_forms); a GET goes to `page`, the page
    the form is on, instead of a blank 405. Browsers ask with GET when the login form sends them on here (its `next`
    is where a form posted once the login had ended), and when the address of a page a form left is opened again."""

    def decorator(view):
        @login_required_for_forms
        @require_http_methods(["GET", "HEAD", "POST"])
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if request.method != "POST":
                return redirect(page)
            return view(request, *args, **kwargs)

        return wrapped

    return decorator
