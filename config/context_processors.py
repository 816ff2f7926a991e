from django.conf import settings
from django.http import HttpRequest


def triage(request: HttpRequest) -> dict:
    return {"TRIAGE_VERSION": settings.VERSION, "TRIAGE_PUBLIC_READ": settings.TRIAGE_PUBLIC_READ}
