"""Accounts: passwords, signed tokens, cookie sessions, CSRF, login rate limiting."""
