"""The small exception tree every adapter raises (driver errors are wrapped)."""


class MysqlhaError(Exception):
    """Base of every error mysqlha raises on purpose."""


class ConfigError(MysqlhaError):
    """The configuration is invalid; ``problems`` lists every problem found."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


class NodeUnreachable(MysqlhaError):
    """The server did not answer: refused, timed out or connection lost."""


class NodeAnsweredError(MysqlhaError):
    """The server answered with an error (it is alive, but we could not use it)."""


class SupervisorError(MysqlhaError):
    """supervisord could not be reached or did not do what was asked."""


class StepFailed(MysqlhaError):
    """A failover step did not complete; the failover stops at a resumable point."""
