from django.apps import AppConfig


class IngestionConfig(AppConfig):
    name = "ingestion"

    def ready(self) -> None:
        from ingestion import openapi  # noqa: F401  (registers the pydantic schema extension)
