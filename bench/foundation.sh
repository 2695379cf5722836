#!/usr/bin/env bash
# Foundation figures: release binary size, time from process start to /healthz answering 200,
# idle resident memory, and GET /healthz requests per second under wrk on loopback.
# Usage: bench/foundation.sh        (needs python3 and wrk: apt-get install wrk)
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --release --locked -q
binary=target/release/herald
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

printf 'release binary size: %.1f MiB\n' "$(echo "$(stat -c %s "$binary") / 1048576" | bc -l)"

# Start-up: a first start (creates data dir, database, key) and a restart, each timed from
# spawning the process to the first 200 from /healthz, median of 10.
python3 - "$binary" "$work" <<'PY'
import os, socket, statistics, subprocess, sys, time, shutil
binary, work = sys.argv[1], sys.argv[2]

def free_port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]; s.close(); return port

def healthy(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2) as c:
            c.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            return c.recv(64).startswith(b"HTTP/1.1 200")
    except OSError:
        return False

def start(data_dir):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HERALD_")}
    began = time.perf_counter()
    proc = subprocess.Popen([binary, "serve", "--listen", f"127.0.0.1:{port}", "--data-dir", data_dir],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    while not healthy(port):
        if proc.poll() is not None:
            sys.exit("herald exited during start-up")
        time.sleep(0.0005)
    return proc, port, (time.perf_counter() - began) * 1000

def median_start(fresh):
    times = []
    for i in range(10):
        data = os.path.join(work, f"startup-{fresh}-{i}" if fresh else "startup-warm")
        proc, _, ms = start(data)
        times.append(ms)
        proc.terminate(); proc.wait()
    return statistics.median(times)

print(f"start to /healthz 200, first start (creates everything): {median_start(True):.0f} ms (median of 10)")
print(f"start to /healthz 200, restart: {median_start(False):.0f} ms (median of 10)")

proc, port, _ = start(os.path.join(work, "idle"))
for _ in range(20):
    healthy(port)
time.sleep(2)
rss_kib = int(next(l for l in open(f"/proc/{proc.pid}/status") if l.startswith("VmRSS")).split()[1])
print(f"idle resident memory after start: {rss_kib / 1024:.1f} MiB")
proc.terminate(); proc.wait()
PY

if ! command -v wrk >/dev/null; then
    echo "requests per second: wrk is not installed (apt-get install wrk)"
    exit 0
fi
for level in info warn; do
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    env -u HERALD_TEST_DATABASE_URL -u HERALD_REQUIRE_ALL_TESTS HERALD_LOG_LEVEL=$level \
        "$binary" serve --listen "127.0.0.1:$port" --data-dir "$work/load-$level" 2>/dev/null &
    pid=$!
    until curl -sf "http://127.0.0.1:$port/healthz" >/dev/null; do sleep 0.05; done
    rps=$(wrk -t2 -c64 -d10s "http://127.0.0.1:$port/healthz" | awk '/Requests\/sec/ {print $2}')
    echo "GET /healthz requests per second (wrk -t2 -c64 -d10s, log level $level): $rps"
    kill -TERM $pid; wait $pid || true
done
