"""One error hierarchy for SmartWorker.

Each class's docstring is its default message, so ``raise QueueError()`` still
says something a user can act on.
"""

from __future__ import annotations


class SmartWorkerError(Exception):
    """SmartWorker failed."""

    #: HTTP status the API answers with when this error reaches a route.
    http_status: int = 500

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or (self.__doc__ or "").strip())

    @property
    def message(self) -> str:
        """The message shown to a user."""
        return str(self.args[0]) if self.args else (self.__doc__ or "").strip()


# -- configuration ---------------------------------------------------------------------------------
class ConfigurationError(SmartWorkerError):
    """The configuration is invalid."""


class ServiceUnavailableError(ConfigurationError):
    """A configured service cannot be reached."""

    http_status = 503


# -- queue -----------------------------------------------------------------------------------------
class QueueError(SmartWorkerError):
    """A queue operation failed."""


class UnknownHandlerError(QueueError):
    """No handler is registered under that job name."""

    http_status = 400


class JobNotFoundError(QueueError):
    """No such job."""

    http_status = 404


class HandlerLoadError(QueueError):
    """The application module with the handlers could not be imported."""


class InvalidJobOptionsError(QueueError):
    """A job option is out of range or of the wrong type."""

    http_status = 422

    def __init__(self, message: str | None = None, field: str = "opts") -> None:
        super().__init__(message)
        self.field = field  #: e.g. "opts.backoff.delay"


class QueueUnavailableError(QueueError):
    """Redis does not answer."""

    http_status = 503


class ConflictError(QueueError):
    """The request conflicts with what already exists."""

    http_status = 409


# -- reasoning -------------------------------------------------------------------------------------
class ReasoningError(SmartWorkerError):
    """The AI resolution failed."""


class LLMError(ReasoningError):
    """The language model did not give a usable answer."""

    http_status = 502


class LLMUnavailableError(ReasoningError):
    """llm unavailable"""

    http_status = 503


class ProposalRejectedError(ReasoningError):
    """The proposed change was rejected."""

    http_status = 422


class UnchangedProposalError(ProposalRejectedError):
    """unchanged: the reply returned every file as it was."""


class FixNotFoundError(ReasoningError):
    """No such fix record."""

    http_status = 404


# -- sandbox ---------------------------------------------------------------------------------------
class SandboxError(SmartWorkerError):
    """The sandbox could not run the job."""


class SandboxUnavailableError(SandboxError):
    """The configured sandbox backend is not available on this host."""


# -- memory ----------------------------------------------------------------------------------------
class MemoryStoreError(SmartWorkerError):
    """The failure memory (PostgreSQL) failed."""


class DimensionMismatchError(MemoryStoreError):
    """The embedding dimension differs from the one stored in the database."""


class FailureNotFoundError(MemoryStoreError):
    """No such failure."""

    http_status = 404


class MemoryUnavailableError(MemoryStoreError):
    """The memory database does not answer."""

    http_status = 503


class EmbeddingError(MemoryStoreError):
    """The embedding model failed."""


# -- fix delivery and review -----------------------------------------------------------------------
class DeliveryError(SmartWorkerError):
    """A verified fix could not be delivered (branch, patch, push or pull request)."""

    http_status = 502


class ReviewStepError(DeliveryError):
    """That review step is not possible for this fix now."""

    http_status = 409


class ApplyRefusedError(ReviewStepError):
    """apply refused: a file the fix touches is not as it was when the fix was made."""


class ApplyDisabledError(DeliveryError):
    """apply is off: set FIX_APPLY=true to let a person apply verified fixes."""

    http_status = 409


# -- notification ----------------------------------------------------------------------------------
class NotificationError(SmartWorkerError):
    """The notification could not be sent."""


# -- access ----------------------------------------------------------------------------------------
class AccessError(SmartWorkerError):
    """Access denied."""

    http_status = 403


class AuthenticationError(AccessError):
    """An API key is required: send Authorization: Bearer <key>."""

    http_status = 401


class PermissionDeniedError(AccessError):
    """This API key's role does not allow that."""

    http_status = 403


class KeyNotFoundError(AccessError):
    """No such API key."""

    http_status = 404


# -- requests --------------------------------------------------------------------------------------
class RequestError(SmartWorkerError):
    """The request cannot be read."""

    http_status = 400


class UnsupportedMediaTypeError(RequestError):
    """This route accepts application/json only."""

    http_status = 415


class PayloadTooLargeError(RequestError):
    """The request body is larger than APP_MAX_BODY_BYTES."""

    http_status = 413
