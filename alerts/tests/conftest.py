from conversations.tests.auth import anonymous, api, api_key_client, forged, jwt_secret  # noqa: F401 (fixtures)
