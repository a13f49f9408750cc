"""Files under load: how fast Parley takes a 12-megapixel photo (read, typed from its content,
turned upright, stripped of metadata, re-encoded, thumbnailed), and what uploads cost the
fan-out room.

* one user uploads the photo ``samples`` times, one after another: the latency of each upload
  (the request's whole life: transfer, processing, storage) and the bytes per second;
* then ``uploaders`` members upload it continuously while ``senders`` send ``rate`` msg/s to the
  fan-out room: ``message.new`` p99 (checked off per socket as in the fan-out scenario) and the
  upload throughput meanwhile. Uploads are not sent in messages (that would change the room's
  message rate); the processing is the cost being measured.
"""

from __future__ import annotations

import asyncio
import io
import shutil
import time
from collections.abc import Sequence
from typing import Any

from PIL import Image

from bench import infra
from bench.scenarios import HOST, Account, FanoutRecorder, _until, close_all, drive, open_sockets
from bench.stats import latency_summary
from bench.wsclient import http

BOUNDARY = "parley-bench-upload"


def photo_12mp(width: int = 4000, height: int = 3000) -> bytes:
    """A 12-megapixel JPEG with camera-like detail (noise over a gradient), so it compresses
    as a photo does (a few MB), not as a flat colour."""
    noise = [Image.effect_noise((width, height), 40 + 10 * band) for band in range(3)]
    gradient = Image.linear_gradient("L").resize((width, height))
    bands = [Image.blend(n, gradient, 0.5) for n in noise]
    out = io.BytesIO()
    Image.merge("RGB", bands).save(out, "JPEG", quality=88)
    return out.getvalue()


def multipart(data: bytes, filename: str = "photo.jpg") -> bytes:
    head = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
        "Content-Type: image/jpeg\r\n\r\n"
    ).encode()
    return head + data + f"\r\n--{BOUNDARY}--\r\n".encode()


async def upload(port: int, account: Account, room_id: int, body: bytes) -> float:
    """POST one upload; its latency in seconds."""
    started = time.perf_counter()
    await http(
        "POST", HOST, port, f"/api/rooms/{room_id}/attachments/", raw_body=body, token=account.token,
        content_type=f"multipart/form-data; boundary={BOUNDARY}", expect=(201,),
    )  # fmt: skip
    return time.perf_counter() - started


async def uploads(
    server: infra.Server, *, accounts: Sequence[Account], room_id: int, members: int, senders: int,
    rate: float, uploaders: int, duration: float, drain: float, samples: int,
) -> dict[str, Any]:  # fmt: skip
    photo = photo_12mp()
    body = multipart(photo)
    shutil.rmtree(infra.MEDIA, ignore_errors=True)
    port = server.ports[0]
    sequential = [
        await upload(server.ports[i % len(server.ports)], accounts[-1], room_id, body) for i in range(samples)
    ]

    recorder = FanoutRecorder(members)
    clients, _, failures = await open_sockets(server, members, accounts, recorder)
    if failures:
        close_all(clients)
        raise RuntimeError(f"uploads: {failures} of {members} sockets failed to connect")
    await asyncio.sleep(0.5)
    try:
        warm, _, _ = await drive(clients[:senders], rate, 1.0, room_id)
        await _until(lambda: len(recorder.latencies) >= len(warm) * members, 15.0)
        recorder.reset()
        latencies: list[float] = []
        stop = asyncio.Event()

        async def keep_uploading(index: int, account: Account) -> None:
            while not stop.is_set():
                latencies.append(
                    await upload(server.ports[index % len(server.ports)], account, room_id, body)
                )

        cpu0 = infra.cpu_seconds(server.pids())
        workers = [asyncio.ensure_future(keep_uploading(i, a)) for i, a in enumerate(accounts[-uploaders:])]
        wall0 = time.perf_counter()
        numbers, _, _ = await drive(clients[:senders], rate, duration, room_id)
        stop.set()
        await asyncio.gather(*workers)
        wall = time.perf_counter() - wall0
        expected = len(numbers) * members
        await _until(lambda: len(recorder.latencies) >= expected, drain)
        numbers_set = set(numbers)
        delivered = sum(len(seen & numbers_set) for seen in recorder.seen)
        server_cpu = infra.cpu_seconds(server.pids()) - cpu0
    finally:
        close_all(clients)
        shutil.rmtree(infra.MEDIA, ignore_errors=True)
    seq = latency_summary(sequential)
    return {
        "photo_bytes": len(photo), "photo_pixels": 4000 * 3000, "samples": samples,
        "sequential": seq,
        "sequential_mb_per_s": round(len(photo) * samples / sum(sequential) / 2**20, 1),
        "members": members, "senders": senders, "offered_per_s": rate, "uploaders": uploaders,
        "duration_s": duration, "sent": len(numbers), "expected_deliveries": expected,
        "delivered": delivered, "lost": expected - delivered, "duplicated": recorder.duplicates,
        **latency_summary(recorder.latencies),
        "uploads_during": len(latencies),
        "uploads_per_s": round(len(latencies) / wall, 2),
        "upload_mb_per_s": round(len(latencies) * len(photo) / wall / 2**20, 1),
        "upload_p99_ms": latency_summary(latencies)["p99_ms"],
        "server_cpu_s": round(server_cpu, 2), "port": port,
    }  # fmt: skip


def targets(results: dict[str, Any]) -> list[tuple[str, str, bool | None]]:
    u = results.get("uploads")
    if not u:
        return []
    return [
        (
            f"uploads: {_mb(u['photo_bytes'])} 12-megapixel JPEG: upload latency and throughput reported",
            f"one at a time p50 {u['sequential']['p50_ms']} ms, max {u['sequential']['max_ms']} ms"
            f" ({u['sequential_mb_per_s']} MB/s); {u['uploaders']} uploading at once: {u['uploads_per_s']}/s"
            f" ({u['upload_mb_per_s']} MB/s)",
            None,
        ),
        (
            f"fan-out {u['offered_per_s']:g} msg/s × {u['members']} while {u['uploaders']} users upload"
            " continuously: message.new p99 ≤ 100 ms",
            f"p99 {u['p99_ms']} ms, lost {u['lost']:,}",
            u["p99_ms"] is not None and u["p99_ms"] <= 100 and u["lost"] == 0,
        ),
    ]


def section(results: dict[str, Any]) -> list[str]:
    u = results.get("uploads")
    if not u:
        return []
    s = u["sequential"]
    return [
        f"## 1e. Uploads: a 12-megapixel JPEG ({_mb(u['photo_bytes'])}), alone and under fan-out",
        "",
        "`POST /api/rooms/{id}/attachments/` (multipart), Parley (uvicorn). The server types the file from its"
        " content, turns it upright, strips its metadata, re-encodes it and makes a WebP thumbnail, all in the"
        " request. Latency = the whole request. Then uploads continue from several users while the fan-out room"
        " takes messages.",
        "",
        "| one at a time: uploads | p50 / p99 / max ms | MB/s | while uploading: uploaders | uploads/s (MB/s)"
        " | upload p99 ms | message.new p50 / p99 / max ms | lost | server CPU s |",
        "|---|---|---|---|---|---|---|---|---|",
        f"| {u['samples']} | {s['p50_ms']} / {s['p99_ms']} / {s['max_ms']} | {u['sequential_mb_per_s']} |"
        f" {u['uploaders']} | {u['uploads_per_s']} ({u['upload_mb_per_s']}) | {u['upload_p99_ms']} |"
        f" {u['p50_ms']} / {u['p99_ms']} / {u['max_ms']} | {u['lost']:,} | {u['server_cpu_s']} |",
        "",
    ]


def _mb(size: int) -> str:
    return f"{size / 2**20:.1f} MB"
