"""The benchmark harness, end to end with tiny numbers, so `make bench` cannot rot.

Same code as the real run (servers started as subprocesses, users through the API, ticketed
sockets, the lean client): ~20 members, 2 senders, a couple of seconds, Parley and the bare
peer. Asserts correctness (nothing lost or duplicated, all persisted) and the result shape —
never a latency: timing is judged from the benchmark itself.
"""

import asyncio
import os
from urllib.parse import urlparse

import pytest
from django.conf import settings

from bench import infra, report
from bench.run import Config, merged, run

pytestmark = [pytest.mark.services, pytest.mark.server]

RATE_KEYS = {
    "offered_per_s",
    "sent",
    "delivered",
    "delivered_per_s",
    "lost",
    "duplicated",
    "p50_ms",
    "p99_ms",
    "max_ms",
}


def test_fanout_harness_runs_end_to_end(monkeypatch):
    db = urlparse(os.environ["DATABASE_URL"])
    pg_url = f"{db.scheme}://{db.username or 'postgres'}@{db.hostname}:{db.port or 5432}"
    monkeypatch.setenv("BENCH_PG_URL", pg_url)
    monkeypatch.setenv("BENCH_REDIS_URL", os.environ["REDIS_URL"])
    config = Config(
        members=20, senders=4, rates=(10,), duration=2, drain=3, servers=("parley-uvicorn", "bare"),
        reactors=4, reactions_per_s=4, editors=2, edits_per_s=2, deflate_sockets=60, rich_rate=10,
        typists=3, churn_sockets=40, churn_rate=20, churn_duration=1, uploaders=2, upload_samples=1,
        scenarios=("fanout", "rich", "awareness", "uploads", "deflate", "churn"), db_name=f"{settings.DATABASES['default']['TEST']['NAME']}_bench_smoke",
    )  # fmt: skip
    postgres = infra.Services(pg_url=pg_url, redis_url=os.environ["REDIS_URL"])
    try:
        results = asyncio.run(run(config))
    finally:
        postgres.drop_database(config.db_name)  # the run creates it and, like a real run, keeps it
    assert not postgres.database_exists(config.db_name)

    for server in ("parley-uvicorn", "bare"):
        (row,) = results["fanout"][server]["rates"]
        assert RATE_KEYS <= set(row)
        assert row["sent"] == 20 and row["server_cpu_s"] > 0
        assert row["lost"] == 0 and row["duplicated"] == 0
        assert row["delivered"] == row["expected_deliveries"] == 20 * 20
    parley = results["fanout"]["parley-uvicorn"]["rates"][0]
    assert parley["acked"] == 20 and parley["errors"] == 0
    check = results["fanout"]["persisted_check"]
    assert check["persisted"] == check["sent_to_parley"] > 20  # warm-up included
    rich = results["rich"]
    assert rich["lost"] == 0 and rich["updates_missing"] == 0 and rich["frame_errors"] == 0
    assert rich["reactions_done"] == rich["reactions_sent"] == 8
    assert rich["edits_done"] == rich["edits_sent"] == 4
    assert rich["update_deliveries"] == 12 * 20 and rich["edit_p99_ms"] is not None
    squeeze = results["deflate"]
    # The client offers deflate as browsers do; the default server refuses it, WS_DEFLATE=on accepts.
    assert squeeze["off"]["negotiated"] == 0 and squeeze["on"]["negotiated"] == 20
    assert squeeze["off"]["held_negotiated"] == 0 and squeeze["on"]["held_negotiated"] == 60
    for setting in ("off", "on"):
        assert squeeze[setting]["lost"] == 0 and squeeze[setting]["sockets_held"] == 60
    assert squeeze["on"]["wire_bytes_per_delivery"] < squeeze["off"]["wire_bytes_per_delivery"]
    frames = squeeze["off"]["typical_frames"]
    assert (
        frames["catch_up"]["frames"] >= 10 and frames["short"]["deflate_no_context"] < frames["short"]["raw"]
    )
    aware = results["awareness"]
    assert aware["lost"] == 0 and aware["frame_errors"] == 0 and aware["reads_sent"] >= 20
    assert aware["read_updated_missing"] == 0 and aware["read_updated_received"] == aware["reads_sent"]
    assert aware["typing_received"] == aware["typing_expected"] > 0
    files = results["uploads"]
    assert files["photo_pixels"] == 12_000_000 and files["sequential"]["max_ms"] is not None
    assert files["lost"] == 0 and files["uploads_during"] > 0
    churn = results["churn"]
    assert churn["connect_failures"] == 0 and churn["opened"] == churn["closed"] == 20
    assert churn["stayed_online"] == churn["stay_with_sockets"] > 0
    assert churn["left_offline_after_s"] is not None
    rendered = report.render(results)
    assert (
        "## 1. Fan-out" in rendered and "## 1b. Rich traffic" in rendered and "## 1c. permessage" in rendered
    )
    assert "## 1d. Awareness" in rendered and "## 2b. Churn" in rendered and "## 1e. Uploads" in rendered
    assert "CPU per 1,000 deliveries" in rendered


def test_search_harness_runs_end_to_end(monkeypatch):
    db = urlparse(os.environ["DATABASE_URL"])
    pg_url = f"{db.scheme}://{db.username or 'postgres'}@{db.hostname}:{db.port or 5432}"
    monkeypatch.setenv("BENCH_PG_URL", pg_url)
    monkeypatch.setenv("BENCH_REDIS_URL", os.environ["REDIS_URL"])
    name = settings.DATABASES["default"]["TEST"]["NAME"]
    config = Config(
        scenarios=("search",), history_messages=300, search_requests=2,
        db_name=f"{name}_bench_smoke", history_db=f"{name}_search_smoke",
    )  # fmt: skip
    postgres = infra.Services(pg_url=pg_url, redis_url=os.environ["REDIS_URL"])
    try:
        results = asyncio.run(run(config))
    finally:
        for database in (config.db_name, config.history_db):
            postgres.drop_database(database)
    found = results["search"]
    assert found["messages_total"] > 300  # the seed and the scenario's own rare message
    assert found["rest"]["rare_word"]["results"] == 1
    assert found["rest"]["common_word"]["results"] == 20
    assert set(found["ilike"]) == {"rare_word", "common_word", "phrase", "from_and_word"}
    assert found["index_bytes"] > 0 and found["index_build_s"] >= 0
    assert "## 5. Search" in "\n".join(report._search_section(found))


def test_a_merge_replaces_only_the_scenarios_run_again():
    machine = {"loadavg_at_start": "0.5 0.4 0.3", "cpu_reference_ms_start": 90, "cpu_reference_ms_end": 92}
    earlier = {
        "started_at": "t0",
        "machine": machine,
        "config": {},
        "fanout": {"old": 1},
        "search": {"old": 2},
    }
    later = {"started_at": "t1", "commit": "c1", "machine": machine, "search": {"new": 3}}
    out = merged(earlier, later)
    assert out["fanout"] == {"old": 1} and out["search"] == {"new": 3} and out["started_at"] == "t0"
    assert [(r["scenarios"], r["commit"]) for r in out["reruns"]] == [(["search"], "c1")]
    again = merged(out, {**later, "started_at": "t2", "commit": "c2", "search": {"newer": 4}})
    assert [r["commit"] for r in again["reruns"]] == ["c1", "c2"] and again["search"] == {"newer": 4}
