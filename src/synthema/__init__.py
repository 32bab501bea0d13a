"""synthema."""


def installed_version() -> str:
    """The installed synthema version, as reports print it ("unknown" from a bare source tree)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("synthema")
    except PackageNotFoundError:
        return "unknown"
