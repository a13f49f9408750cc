"""The production server, started the same way everywhere: ``python -m chatsite.serve``.

``make serve``, the Dockerfile, the test suite's real-server fixture and the benchmark all
start Parley through ``command()``, so the options below are what every measured and tested
server runs with:

* uvicorn with the sans-I/O ``websockets`` implementation (chosen by the benchmark: lowest
  latency under fan-out at a moderate memory cost per socket, bench/RESULTS.md);
* ``--ws-max-size``: the server refuses (close 1009) a frame over this many bytes while reading
  it, instead of buffering up to uvicorn's default 16 MiB before the consumer's own limit of
  ``MAX_FRAME_CHARS`` characters (``messaging.consumers``) answers with an error frame. It
  is four times that limit: a frame of that many characters, each up to 4 bytes of UTF-8;
* ``--no-proxy-headers``: uvicorn would otherwise take the client address from
  ``X-Forwarded-For`` of any local peer; Parley decides whom to believe itself
  (``TRUSTED_PROXIES``, ``accounts.throttling.client_ip``);
* ``permessage-deflate`` refused unless ``WS_DEFLATE=on``. Every browser offers it, and
  uvicorn would accept: then every delivered frame is compressed again for every socket (a
  zlib stream each), which undoes the one-encoded-frame-per-event fan-out and doubles memory
  per socket. The numbers behind the choice (CPU per delivery, p99, RSS per socket, bytes on
  the wire, both ways, same run) are in bench/RESULTS.md ("permessage-deflate");
* no lifespan, no access log (the hot path logs nothing per request).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping

APP = "chatsite.asgi:application"
FRAME_CHARS = 64 * 1024  # messaging.consumers.MAX_FRAME_CHARS (a test keeps them equal)
WS_MAX_BYTES = 4 * FRAME_CHARS


def deflate_wanted(environ: Mapping[str, str] = os.environ) -> bool:
    """``WS_DEFLATE`` of the server's environment: "on" or "off" (default)."""
    value = environ.get("WS_DEFLATE", "off").strip().lower()
    if value not in ("on", "off"):
        raise SystemExit(f"WS_DEFLATE must be 'on' or 'off', not {value!r}")
    return value == "on"


def command(
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    workers: int = 1,
    app: str = APP,
    deflate: bool | None = None,
) -> list[str]:
    """The server's command line, for ``subprocess`` or ``exec``. ``deflate``: accept
    permessage-deflate (default: ``WS_DEFLATE``)."""
    deflate = deflate_wanted() if deflate is None else deflate
    return [
        sys.executable, "-m", "uvicorn", app,
        "--host", host, "--port", str(port), "--workers", str(workers),
        "--ws", "websockets-sansio", "--ws-max-size", str(WS_MAX_BYTES),
        "--ws-per-message-deflate", "true" if deflate else "false",
        "--no-proxy-headers", "--lifespan", "off", "--no-access-log",
    ]  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    parser.add_argument("--workers", type=int, default=int(os.environ.get("WORKERS", "2")))
    args, extra = parser.parse_known_args(argv)
    cmd = command(host=args.host, port=args.port, workers=args.workers) + extra
    os.execv(cmd[0], cmd)


if __name__ == "__main__":
    main()
