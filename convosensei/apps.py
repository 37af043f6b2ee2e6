from django.apps import AppConfig
from django.core.signals import request_started


class ConvosenseiConfig(AppConfig):
    name = "convosensei"

    def ready(self) -> None:
        from convosensei.database import close_connections_the_server_dropped

        request_started.connect(close_connections_the_server_dropped, dispatch_uid="convosensei.database.hung_up")
