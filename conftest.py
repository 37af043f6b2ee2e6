import os

import pytest
from django.core.management import call_command


@pytest.fixture(scope="session")
def django_db_modify_db_settings():
    """A test database of this run's own, so that two runs on one machine never drop each other's."""
    from django.conf import settings

    settings.DATABASES["default"].setdefault("TEST", {})["NAME"] = f"test_convosensei_{os.getpid()}"


@pytest.fixture(scope="session", autouse=True)
def collected_static(django_db_blocker):
    """Static files as production serves them (whitenoise, hashed names), collected once per run."""
    with django_db_blocker.unblock():
        call_command("collectstatic", "--no-input", verbosity=0)
