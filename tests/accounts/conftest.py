import pytest


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings) -> None:
    """Factory users get passwords; the production hasher would spend most of each test hashing them."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
