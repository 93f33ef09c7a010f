"""OpenAPI schema adjustments (drf-spectacular hooks)."""


def strip_optional_slash(endpoints):
    """Routes accept an optional trailing slash; document them without it, as the contract does."""
    return [(path.rstrip("/") or "/", path_regex, method, callback) for path, path_regex, method, callback in endpoints]
