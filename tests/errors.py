"""Capturing errors as plain data, so that every rank of a distributed test can report what it raised."""


def capture_error(fn):
    """``(type name, message)`` of the exception ``fn()`` raises, or None when it returns."""
    try:
        fn()
    except Exception as err:  # noqa: BLE001 - the tests compare type and message across ranks
        return (type(err).__name__, str(err))
    return None
