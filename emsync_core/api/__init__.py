"""The archive API's rules: API keys and their scopes, which catalog roots it may score, error records."""
