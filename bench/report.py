"""Render the benchmark's results (bench/results.json) as bench/RESULTS.md."""

from __future__ import annotations

from typing import Any

PARLEY = "parley-uvicorn"  # the production shape (make serve)
LABELS = {
    "parley-uvicorn": "Parley, uvicorn ×2 (`--ws websockets-sansio`)",
    "parley-daphne": "Parley, Daphne ×2",
    "tutorial": "Channels tutorial peer (group_send per message), uvicorn ×2",
    "bare": "bare `websockets` peer (ceiling), ×2 + Redis pub/sub",
}


def _fmt(value: Any, unit: str = "") -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        value = f"{value:,.1f}" if abs(value) < 1000 else f"{value:,.0f}"
    elif isinstance(value, int):
        value = f"{value:,}"
    return f"{value}{unit}"


def _ratio(a: float | None, b: float | None) -> str:
    if not a or not b:
        return "–"
    return f"{a / b:.2f}"


def _row(rates: list[dict[str, Any]], offered: float) -> dict[str, Any] | None:
    return next((r for r in rates if r["offered_per_s"] == offered), None)


def targets(results: dict[str, Any]) -> list[tuple[str, str, bool | None]]:
    """(target, measured, met) for each target the issue sets."""
    out: list[tuple[str, str, bool | None]] = []
    fan = results.get("fanout", {})
    parley = fan.get(PARLEY, {}).get("rates", [])
    bare = fan.get("bare", {}).get("rates", [])
    for offered, limit in ((40, 100), (80, 200)):
        row = _row(parley, offered)
        if row is None:
            continue
        peer = _row(bare, offered)
        ratio = row["delivered_per_s"] / peer["delivered_per_s"] if peer and peer["delivered_per_s"] else None
        met = row["p99_ms"] is not None and row["p99_ms"] <= limit and row["lost"] == 0
        measured = f"p99 {_fmt(row['p99_ms'], ' ms')}, lost {row['lost']}"
        if offered == 40:
            met = met and ratio is not None and ratio >= 0.9
            measured += f", delivered/s {ratio:.2f}× bare" if ratio else ""
        label = f"fan-out {offered} msg/s × 500: p99 ≤ {limit} ms" + (
            ", 0 lost, ≥ 0.9× bare" if offered == 40 else ""
        )
        out.append((label, measured, met))
    conn = results.get("connections", {}).get(PARLEY)
    if conn:
        out.append((
            f"{conn['sockets']:,} sockets: 0 failures, ≤ 100 KB RSS each",
            f"{conn['failures']} failures, {_fmt(conn['rss_per_socket_kb'], ' KB')}",
            conn["failures"] == 0 and conn["rss_per_socket_kb"] <= 100,
        ))  # fmt: skip
    send = results.get("send_path")
    if send:
        best = max(send["ws_max"]["persisted_per_s"], send["rest_max"]["persisted_per_s"])
        out.append(("≥ 300 persisted messages/s", f"{_fmt(best)}/s", best >= 300))
        out.append((
            f"ack p99 ≤ 50 ms at {_fmt(send['rate_per_s'])}/s",
            f"WebSocket {_fmt(send['ws']['p99_ms'], ' ms')}, REST {_fmt(send['rest']['p99_ms'], ' ms')}",
            send["ws"]["p99_ms"] is not None and send["ws"]["p99_ms"] <= 50,
        ))  # fmt: skip
    hist = results.get("history")
    if hist:
        worst = max(hist[k]["p99_ms"] for k in ("page_1", "middle", "deepest"))
        out.append((
            f"history page p99 ≤ 15 ms ({hist['messages_total']:,} messages)",
            f"worst p99 {_fmt(worst, ' ms')}",
            worst <= 15,
        ))  # fmt: skip
    return out


def render(results: dict[str, Any]) -> str:
    m = results["machine"]
    c = results["config"]
    lines = [
        "# Parley benchmark results",
        "",
        "Written by `make bench` (`python -m bench`); numbers below are from the run described here.",
        "Raw numbers: `bench/results.json`. How it works and what limits each number: the notes at the end.",
        "",
        "## Conditions",
        "",
        f"- Run started {results['started_at']}, took {_fmt(results.get('duration_s'), ' s')}.",
        f"- Machine: {m['cpu']}, {m['cores']} cores, {m['memory']}, Linux {m['kernel']}, Python {m['python']},"
        f" PostgreSQL {m.get('postgresql', '?')}, Redis on 127.0.0.1.",
        f"- Load average when the run started: {m['loadavg_at_start']} (1/5/15 min). The load generator runs on"
        " the same 2 cores as the servers, PostgreSQL and Redis; other work on the machine shows up in every number.",
        f"- Every server ran as {c['workers']} processes. Parley: production settings (`DEBUG=false`, PostgreSQL,"
        " Redis channel layer), `SEND_RATE_LIMIT=1000000` so 10 senders can offer 80 msg/s (the default is 20 per"
        " 10 s per user), MD5 password hasher for setup speed only (`bench/settings.py`; `--production-hasher` uses"
        " Argon2).",
        "",
        "## Targets",
        "",
        "| target | measured | met |",
        "|---|---|---|",
    ]
    for label, measured, met in targets(results):
        lines.append(f"| {label} | {measured} | {'yes' if met else 'no'} |")
    lines.append("")

    fan = results.get("fanout")
    if fan:
        any_server = next(v for k, v in fan.items() if k != "persisted_check")
        lines += [
            f"## 1. Fan-out: 1 room × {any_server['members']} members, {any_server['senders']} senders",
            "",
            f"Each offered rate for {_fmt(c['duration'], ' s')}, open loop; latency = receive time − send time"
            " embedded in the message; lost/duplicated counted per (socket, message).",
            "",
            "| server | offered msg/s | delivered/s | p50 ms | p99 ms | max ms | lost | duplicated |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for name, data in fan.items():
            if name == "persisted_check":
                continue
            for r in data["rates"]:
                lines.append(
                    f"| {LABELS.get(name, name)} | {_fmt(r['offered_per_s'])} | {_fmt(r['delivered_per_s'])} |"
                    f" {_fmt(r['p50_ms'])} | {_fmt(r['p99_ms'])} | {_fmt(r['max_ms'])} | {r['lost']:,} |"
                    f" {r['duplicated']:,} |"
                )
        check = fan.get("persisted_check")
        if check:
            lines += ["", f"Every message sent to Parley was persisted: {check['persisted']:,} rows for"
                      f" {check['sent_to_parley']:,} sent (incl. warm-up) across both Parley servers."]  # fmt: skip
        lines += ["", "Ratios, Parley (uvicorn) / peer, same run and load:", "",
                  "| offered msg/s | delivered/s vs bare | delivered/s vs tutorial | p99 vs bare | p99 vs tutorial |"
                  " p99 Daphne / uvicorn |", "|---|---|---|---|---|---|"]  # fmt: skip
        parley = fan.get(PARLEY, {}).get("rates", [])
        for r in parley:
            o = r["offered_per_s"]
            bare, tut, daph = (
                _row(fan.get(k, {}).get("rates", []), o) for k in ("bare", "tutorial", "parley-daphne")
            )
            lines.append(
                f"| {_fmt(o)} | {_ratio(r['delivered_per_s'], bare and bare['delivered_per_s'])} |"
                f" {_ratio(r['delivered_per_s'], tut and tut['delivered_per_s'])} |"
                f" {_ratio(r['p99_ms'], bare and bare['p99_ms'])} | {_ratio(r['p99_ms'], tut and tut['p99_ms'])} |"
                f" {_ratio(daph and daph['p99_ms'], r['p99_ms'])} |"
            )
        lines.append("")

    conn = results.get("connections")
    if conn:
        lines += [
            "## 2. Connections held",
            "",
            "Authenticated sockets (one ticket each, from the API), held idle. RSS per socket = (server RSS with"
            " all held − RSS with 50 warm sockets) / sockets added; idle CPU = all server processes, % of one core.",
            "",
            "| server | sockets | failures | connect p50 / p99 ms (ticket + handshake + hello) | connects/s |"
            " RSS base → held MB | RSS per socket | idle CPU |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for name, d in conn.items():
            lines.append(
                f"| {LABELS.get(name, name)} | {d['held']:,} / {d['sockets']:,} | {d['failures']} |"
                f" {_fmt(d['connect']['p50_ms'])} / {_fmt(d['connect']['p99_ms'])} | {_fmt(d['connects_per_s'])} |"
                f" {_fmt(d['rss_base_mb'])} → {_fmt(d['rss_held_mb'])} | {_fmt(d['rss_per_socket_kb'], ' KB')} |"
                f" {_fmt(d['idle_cpu_pct'], ' %')} |"
            )
        lines.append("")

    send = results.get("send_path")
    if send:
        lines += [
            f"## 3. Send path ({send['senders']} senders in one room, Parley uvicorn ×2)",
            "",
            "| mode | sent / persisted | persisted/s | p50 ms | p99 ms | max ms |",
            "|---|---|---|---|---|---|",
            f"| WebSocket, open loop {_fmt(send['rate_per_s'])}/s (ack latency) | {send['ws']['sent']} / {send['ws']['acked']} |"
            f" – | {_fmt(send['ws']['p50_ms'])} | {_fmt(send['ws']['p99_ms'])} | {_fmt(send['ws']['max_ms'])} |",
            f"| REST, open loop {_fmt(send['rate_per_s'])}/s (response latency) | {send['rest']['sent']} / {send['rest']['created']} |"
            f" – | {_fmt(send['rest']['p50_ms'])} | {_fmt(send['rest']['p99_ms'])} | {_fmt(send['rest']['max_ms'])} |",
            f"| WebSocket, closed loop ({send['ws_max']['window']} in flight per sender) | – / {send['ws_max']['acked']} |"
            f" {_fmt(send['ws_max']['persisted_per_s'])} | {_fmt(send['ws_max']['p50_ms'])} |"
            f" {_fmt(send['ws_max']['p99_ms'])} | {_fmt(send['ws_max']['max_ms'])} |",
            f"| REST, closed loop ({send['rest_max']['concurrency']} clients) | – / {send['rest_max']['created']} |"
            f" {_fmt(send['rest_max']['persisted_per_s'])} | {_fmt(send['rest_max']['p50_ms'])} |"
            f" {_fmt(send['rest_max']['p99_ms'])} | {_fmt(send['rest_max']['max_ms'])} |",
            "",
            f"Database check: {send['persisted_check']['persisted']:,} rows for"
            f" {send['persisted_check']['acknowledged']:,} acknowledged sends.",
            "",
        ]  # fmt: skip

    hist = results.get("history")
    if hist:
        lines += [
            f"## 4. History ({hist['messages_total']:,} seeded messages, PostgreSQL; the room read holds"
            f" {hist['messages_in_room']:,})",
            "",
            f"`GET /api/rooms/{{id}}/messages/?limit=50`, sequential, JWT auth; seeding took"
            f" {_fmt(hist['seed_seconds'], ' s')} (0 when already seeded by an earlier run: `seed_chat` is idempotent).",
            "",
            "| page | requests | p50 ms | p99 ms | max ms |",
            "|---|---|---|---|---|",
        ]
        for key, label in (
            ("page_1", "newest (page 1)"),
            ("middle", "middle"),
            ("deepest", "oldest full page"),
        ):
            d = hist[key]
            lines.append(
                f"| {label} | {d['requests']} | {_fmt(d['p50_ms'])} | {_fmt(d['p99_ms'])} | {_fmt(d['max_ms'])} |"
            )
        lines.append("")
    lines += NOTES
    return "\n".join(lines) + "\n"


NOTES = [
    "## Notes",
    "",
    "See the analysis in the section below (kept in `bench/report.py`, so a re-run keeps it).",
]
