"""SmartWorker: a BullMQ job-processing system that repairs its own failing jobs."""

from smartworker.jobs import HandlerRegistry, JobInfo, current_job, handler, registry

__all__ = ["HandlerRegistry", "JobInfo", "current_job", "handler", "registry"]
__version__ = "0.1.0"
