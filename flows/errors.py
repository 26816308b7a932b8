"""The cubeops error hierarchy.

Every mistake a user can fix is a :class:`UserError`: the CLI prints its message on one line and
exits with code 2, never a traceback. Anything else escaping a command is a bug.

    CubeopsError
    ├── UserError                 exit code 2 at the CLI
    │   ├── SpecError             cubeops.yaml is malformed or invalid (carries every problem)
    │   ├── DataError             a data source is missing, unreadable or yields no usable text
    │   ├── ModelError            a base model or tokenizer cannot be loaded
    │   ├── TrainError            training cannot start or had to stop (NaN loss, out of memory)
    │   ├── RegistryError         a model version or alias does not exist or cannot be moved
    │   ├── ServingError          the model server cannot start, answer or be reached
    │   ├── StatusError           the status store or status server refused a request
    │   ├── ServiceUnreachable    MLflow, Prefect or the status server is not answering
    │   ├── AlreadyRunning        another run of the same project holds the lock
    │   └── NotBuilt              the command exists but is not available in this release
    └── (anything else is a bug and keeps its traceback)
"""

from collections.abc import Sequence


class CubeopsError(Exception):
    """Base class of every error cubeops raises on purpose."""


class UserError(CubeopsError):
    """A problem the user can fix; reported as one clear message, exit code 2."""

    exit_code = 2


class SpecError(UserError):
    """The project spec is malformed or invalid; ``problems`` holds one line per problem."""

    def __init__(self, path: str, problems: Sequence[str]):
        self.path = path
        self.problems = list(problems)
        super().__init__(f"{path}: " + "; ".join(self.problems))

    def lines(self) -> list[str]:
        """One printable line per problem, each prefixed with the spec's file name."""
        return [f"{self.path}: {p}" for p in self.problems]


class DataError(UserError):
    """A data source is missing, unreadable, or leaves nothing usable after cleaning."""


class ModelError(UserError):
    """A base model or tokenizer cannot be loaded."""


class TrainError(UserError):
    """Training cannot start, or stopped on a condition the user must address."""


class RegistryError(UserError):
    """A registered model, version or alias does not exist or cannot be changed."""


class ServingError(UserError):
    """The model server cannot start, answer or be reached."""


class StatusError(UserError):
    """The status store or the status server refused a request."""


class ServiceUnreachable(UserError):
    """A server cubeops depends on (MLflow, Prefect, the status service) does not answer."""


class AlreadyRunning(UserError):
    """Another run of the same project is in progress."""


class NotBuilt(UserError):
    """The command is part of the CLI but not available in this release."""
