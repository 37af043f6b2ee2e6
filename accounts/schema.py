"""How the API's authentication schemes appear in the OpenAPI schema."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class SupabaseJWTScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.authentication.SupabaseJWTAuthentication"
    name = "supabaseJWT"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": "A Supabase access token of the project (audience `authenticated`).",
        }


class DashboardSessionScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.authentication.DashboardSessionAuthentication"
    name = "adminSession"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "cookie",
            "name": "sessionid",
            "description": "The logged-in admin's session; unsafe methods also need the X-CSRFToken header.",
        }


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.authentication.ApiKeyAuthentication"
    name = "apiKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "cs_<prefix>_<secret>",
            "description": "An ingestion API key (also accepted as the X-API-Key header).",
        }
