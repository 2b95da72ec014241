"""Errors that carry a one-line, user-facing message (the CLI prints them without a traceback)."""


class DivrecError(RuntimeError):
    """A problem the user can fix: bad config, corrupt data, missing checkpoint, ..."""


class DataError(DivrecError):
    """Input data is missing, corrupt or fails its checksum."""


class ConfigError(DivrecError):
    """The configuration is invalid."""


class TrainingDiverged(DivrecError):
    """A loss became NaN/inf; the last good checkpoint is kept."""
