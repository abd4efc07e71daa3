"""A pytest plugin (`-p tests.xdist_redis`): under pytest-xdist, each worker process uses a
Redis database of its own, counting down from REDIS_URL's (gw0 keeps it, gw1 takes the one
below, ...), so two workers' tests never consume or delete each other's messages. Loaded
before pytest-django reads the settings; the e2e stacks have private redis-servers anyway."""

from __future__ import annotations

import os
from urllib.parse import urlsplit, urlunsplit

worker = os.environ.get("PYTEST_XDIST_WORKER", "")
url = os.environ.get("REDIS_URL", "")
if worker.startswith("gw") and url.startswith("redis://"):
    parts = urlsplit(url)
    base = int(parts.path.lstrip("/") or 0)
    number = base - int(worker.removeprefix("gw"))
    if number < 0:
        raise RuntimeError(f"{worker}: no Redis database below {base} left for it")
    os.environ["REDIS_URL"] = urlunsplit(parts._replace(path=f"/{number}"))
