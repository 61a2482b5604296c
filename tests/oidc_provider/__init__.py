"""A real OpenID Connect provider for the single sign-on tests: a second Django project running
django-oauth-toolkit, started as its own process (``harness.oidc_provider``), with its own SQLite
database, RSA key, one confidential client and the users the test asks for."""
