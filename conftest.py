import pytest
from django.core.management import call_command


@pytest.fixture(scope="session", autouse=True)
def collected_static(django_db_blocker):
    """Static files as production serves them (whitenoise, hashed names), collected once per run."""
    with django_db_blocker.unblock():
        call_command("collectstatic", "--no-input", verbosity=0)
