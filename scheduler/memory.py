"""Memory of the long-running processes (gunicorn workers, Celery workers).

glibc gives each thread that allocates its own malloc arena, up to 8 per core, and memory freed in
one arena is not reused by another: a threaded server's RSS then creeps up with no Python object
left behind (tracemalloc sees nothing grow). A couple of arenas is plenty for threads that mostly
wait on DynamoDB and SQS. The same as MALLOC_ARENA_MAX, but set from code so that every way the
processes start (make run, Compose, the image) gets it.
"""

from __future__ import annotations

import ctypes
import logging
import os

logger = logging.getLogger(__name__)

M_ARENA_MAX = -8  # glibc's mallopt parameter number


def limit_malloc_arenas(count: int | None = None) -> bool:
    """Cap this process's malloc arenas (inherited by processes it forks); False where the C library
    is not glibc. `count` defaults to MALLOC_ARENAS (2); 0 leaves glibc's default."""
    count = int(os.environ.get("MALLOC_ARENAS", "2")) if count is None else count
    if count <= 0:
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:  # not glibc (musl, macOS): nothing to tune
        return False
    return bool(libc.mallopt(M_ARENA_MAX, count))
