"""Collector capacity: events/s and latency with durable acknowledgement, measured with wrk.

    python -m benchmarks.ingest_speed --seconds 60

Starts ``touchpath serve`` on a fresh store (a real process on 127.0.0.1), then drives it from a
second process with ``wrk`` (Debian package ``wrk``): a Lua script makes every request unique
(fresh messageIds), so the store really writes each event. Two runs, each on its own server
and fresh store:
- ``/v1/batch`` with 100-event batches (target: >= 50,000 events/s for 60 s, no errors);
- single ``/v1/track`` calls (target: >= 2,000 requests/s, p99 < 250 ms, no errors).
After each run the server is stopped and the stored count is compared with what wrk was told
was acknowledged (2xx); the server's group-commit statistics (commits, rows and milliseconds
per commit) show how much of the time went to the store. A floor measured in the same run: the
batch run's server answering ``/health`` first.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.realserver import WRITE_KEY, start_server

from touchpath.config import load_settings
from touchpath.store.duckdb_store import DuckDBStore

LUA = r"""
local batch_size = tonumber(os.getenv("TP_BATCH") or "0")
local key = os.getenv("TP_KEY")
local run = os.getenv("TP_RUN") or "run"
local counter = 0
local thread_id = 0
function setup(thread) thread:set("tid", thread_id); thread_id = thread_id + 1 end
function init(args) math.randomseed(os.time() + tid) end
local function message(i)
  return string.format('{"type":"track","event":"Product Viewed","anonymousId":"anon-%d-%d",'
    .. '"messageId":"%s-%d-%d-%d","properties":{"product_id":"p-%d","price":%d},'
    .. '"context":{"page":{"url":"https://shop.example/p/%d"}}}', tid, i % 5000, run, tid,
    counter, i, i % 300, i % 97, i % 300)
end
request = function()
  counter = counter + 1
  local body
  if batch_size > 0 then
    local parts = {}
    for i = 1, batch_size do parts[i] = message(i) end
    body = '{"batch":[' .. table.concat(parts, ",") .. '],"writeKey":"' .. key .. '"}'
  else
    body = message(1):sub(1, -2) .. ',"writeKey":"' .. key .. '"}'
  end
  return wrk.format("POST", nil, {["Content-Type"] = "application/json"}, body)
end
local non2xx = 0
response = function(status, headers, body) if status >= 300 then non2xx = non2xx + 1 end end
done = function(summary, latency, requests)
  io.write(string.format("REQUESTS %d\nERRORS %d\n", summary.requests,
    summary.errors.connect + summary.errors.read + summary.errors.write
    + summary.errors.status + summary.errors.timeout))
  for _, p in pairs({50, 90, 99, 99.9}) do
    io.write(string.format("P%s %.2f\n", p, latency:percentile(p) / 1000))
  end
end
"""


def run_wrk(url: str, seconds: int, connections: int, script: Path, batch: int) -> dict[str, float]:
    # every run has its own message-id prefix, so no event of one run dedupes one of another
    env = {"TP_BATCH": str(batch), "TP_KEY": WRITE_KEY, "TP_RUN": f"run{batch}",
           "PATH": "/usr/bin:/bin"}
    out = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s", "-s",
         str(script), url], env=env, capture_output=True, text=True, check=True,
    ).stdout
    values = dict(re.findall(r"^(REQUESTS|ERRORS|P[\d.]+) ([\d.]+)$", out, re.M))
    return {k: float(v) for k, v in values.items()} | {"seconds": seconds}


def commit_stats(log: Path) -> str:
    """The server's group-commit line (printed at shutdown): commits, rows, time writing."""
    found = re.search(r"group commit: ([\d,]+) commits, ([\d,]+) rows, ([\d.]+) s writing",
                      log.read_text())
    if not found:
        return "group commit: not reported"
    commits, rows = (int(found.group(i).replace(",", "")) for i in (1, 2))
    seconds = float(found.group(3))
    return (f"group commit: {commits:,} commits, {rows / max(commits, 1):,.0f} rows and "
            f"{seconds / max(commits, 1) * 1000:,.1f} ms each, {seconds:.1f} s writing")


def measure(work: Path, script: Path, route: str, seconds: int, connections: int,
            batch: int, floor: bool = False) -> dict[str, Any]:
    """One run on its own server and fresh store: wrk's figures, the stored count and the
    server's group-commit statistics (and the /health floor, first, when asked)."""
    work.mkdir()
    server = start_server(work)
    result: dict[str, Any] = {}
    try:
        if floor:
            health = subprocess.run(
                ["wrk", "-t2", f"-c{connections}", "-d5s", server.url + "/health"],
                capture_output=True, text=True, check=True).stdout
            result["floor"] = float(
                re.search(r"Requests/sec:\s+([\d.]+)", health).group(1))  # type: ignore[union-attr]
        result |= run_wrk(server.url + route, seconds, connections, script, batch)
    finally:
        server.stop(timeout=120)
    with DuckDBStore(load_settings(env={}, store_path=server.store)) as store:
        result["stored"] = store.stats()["events"]
    result["commits"] = commit_stats(server.log)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--connections", type=int, default=128,
                        help="wrk connections for the batch run: each waits for its commit, so "
                        "throughput is connections x 100 events / latency (a commit holds about "
                        "half of them)")
    parser.add_argument("--track-connections", type=int, default=256,
                        help="wrk connections for single /v1/track calls: each waits for its "
                        "commit, so throughput is connections / commit latency")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed: apt-get install -y wrk")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        script = work / "load.lua"
        script.write_text(LUA)
        batch = measure(work / "batch", script, "/v1/batch", args.seconds, args.connections,
                        100, floor=True)
        single = measure(work / "track", script, "/v1/track", max(10, args.seconds // 3),
                         args.track_connections, 0)

    floor = batch["floor"]
    batch_rps = batch["REQUESTS"] / batch["seconds"]
    single_rps = single["REQUESTS"] / single["seconds"]
    print(f"floor: GET /health {floor:,.0f} requests/s")
    print(f"/v1/batch x100 ({args.connections} connections, {batch['seconds']} s): "
          f"{batch_rps * 100:,.0f} events/s ({batch_rps:,.0f} requests/s, "
          f"{batch_rps / floor:.2f} of the floor), p50 {batch['P50']:.1f} ms, "
          f"p99 {batch['P99']:.1f} ms, errors {batch['ERRORS']:.0f}   target 50,000 events/s")
    print(f"  {batch['commits']}")
    print(f"/v1/track ({args.track_connections} connections, {single['seconds']} s): "
          f"{single_rps:,.0f} requests/s ({single_rps / floor:.2f} of the floor), "
          f"p50 {single['P50']:.1f} ms, p99 {single['P99']:.1f} ms, errors "
          f"{single['ERRORS']:.0f}   target 2,000 requests/s, p99 < 250 ms")
    print(f"  {single['commits']}")
    for name, run, per_request in (("batch", batch, 100), ("track", single, 1)):
        acknowledged = (run["REQUESTS"] - run["ERRORS"]) * per_request
        # requests still in flight when wrk stops may be stored without being counted by wrk
        verdict = "OK" if run["stored"] >= acknowledged else "LOST EVENTS"
        print(f"{name}: stored {run['stored']:,} events, wrk counted {acknowledged:,.0f} "
              f"acknowledged: {verdict}")


if __name__ == "__main__":
    main()
