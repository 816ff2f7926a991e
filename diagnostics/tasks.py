import socket

from celery import shared_task

from .services import worker_heartbeat_record


@shared_task(ignore_result=True, time_limit=30, soft_time_limit=20)
def worker_heartbeat_task() -> str:
    """Record that a worker is alive and consuming; scheduled by beat every few seconds."""
    hostname = getattr(worker_heartbeat_task.request, "hostname", None) or socket.gethostname()
    worker_heartbeat_record(hostname=hostname)
    return hostname
