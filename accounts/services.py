from datetime import datetime, timedelta

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.utils import timezone

from .models import ApiKey, Scope, hash_secret, new_key_material

# Only touch last_used_at once a minute per key, so reads do not turn into writes.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def api_key_create(
    *, user: User, scopes: list[str], name: str = "", expires_at: datetime | None = None
) -> tuple[ApiKey, str]:
    """Create a key and return it with the plain secret, which is never stored and shown once."""
    unknown = sorted(set(scopes) - set(Scope.values))
    if unknown or not scopes:
        raise ValidationError(f"Scopes must be some of {', '.join(Scope.values)}; got {', '.join(unknown) or 'none'}.")
    # The admin scope only means something for staff (see AdminScope); refuse it elsewhere so a key
    # never looks more powerful than it is.
    if Scope.ADMIN in scopes and not user.is_staff:
        raise ValidationError({"scopes": ["Only staff users can hold a key with the admin scope."]})
    if expires_at is not None and expires_at <= timezone.now():
        raise ValidationError({"expires_at": ["The expiry must be in the future."]})
    prefix, secret = new_key_material()
    key = ApiKey(user=user, name=name, prefix=prefix, hashed_key=hash_secret(secret),
                 scopes=sorted(set(scopes)), expires_at=expires_at)
    key.full_clean()
    key.save()
    return key, secret


def api_key_touch(*, key: ApiKey) -> None:
    now = timezone.now()
    if key.last_used_at is None or now - key.last_used_at > LAST_USED_RESOLUTION:
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)


def api_key_revoke(*, key: ApiKey) -> bool:
    """Revoke a key; False when it was already revoked (not an error: revoking is idempotent)."""
    return bool(ApiKey.objects.filter(pk=key.pk, revoked_at__isnull=True).update(revoked_at=timezone.now()))
