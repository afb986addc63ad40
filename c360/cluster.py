"""A local Spark standalone cluster for the `spark_cluster` profile target.

pyspark's wheel ships Spark's own launcher (`pyspark/bin/spark-class`); this starts a Master
and two Workers with it, all bound to 127.0.0.1, each Worker with one core and
`C360_SPARK_WORKER_MEMORY` (default 3g), so that executors run in processes of their own, as on
a real cluster (no shared driver memory). Process ids and logs live in
`$C360_SPARK_DIR/cluster/`. dbt's session (target `spark_cluster`) connects as the driver.

    python -m c360.cluster start     # what `make spark-cluster-start` runs; waits for 2 workers
    python -m c360.cluster status
    python -m c360.cluster stop
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from c360 import config

HOST = "127.0.0.1"
MASTER_PORT = 7077
MASTER_UI_PORT = 8090
WORKERS = 2
MASTER_CLASS = "org.apache.spark.deploy.master.Master"
WORKER_CLASS = "org.apache.spark.deploy.worker.Worker"


def cluster_dir() -> Path:
    """Where the cluster keeps its pid files, logs and worker scratch space."""
    return config.spark_dir() / "cluster"


def spark_home() -> Path:
    """The Spark distribution inside the pyspark wheel (it holds bin/spark-class and the jars)."""
    import pyspark

    return Path(pyspark.__file__).resolve().parent


def _launch(name: str, args: list[str]) -> int:
    """Start `spark-class <args>` detached, logging to `<cluster dir>/<name>.log`; return its pid."""
    home = spark_home()
    env = {**os.environ, "SPARK_HOME": str(home), "SPARK_LOCAL_IP": HOST, "SPARK_NO_DAEMONIZE": "1"}
    folder = cluster_dir()
    with (folder / f"{name}.log").open("ab") as log:
        process = subprocess.Popen([str(home / "bin" / "spark-class"), *args], env=env, stdout=log,
                                   stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
    (folder / f"{name}.pid").write_text(str(process.pid))
    return process.pid


def master_state(timeout: float = 2.0) -> dict | None:
    """The Master's JSON status (workers, cores, memory), or None when it does not answer."""
    try:
        with urllib.request.urlopen(f"http://{HOST}:{MASTER_UI_PORT}/json/", timeout=timeout) as response:
            return json.load(response)
    except OSError:
        return None


def alive_workers(state: dict | None) -> int:
    """How many registered workers the Master reports alive."""
    return sum(1 for worker in (state or {}).get("workers", []) if worker.get("state") == "ALIVE")


def start(wait_seconds: float = 180.0) -> dict:
    """Start the Master and the Workers unless they run; wait until all Workers are registered."""
    folder = cluster_dir()
    folder.mkdir(parents=True, exist_ok=True)
    if alive_workers(master_state()) >= WORKERS:
        return master_state() or {}
    memory = os.environ.get("C360_SPARK_WORKER_MEMORY", "3g")
    _launch("master", [MASTER_CLASS, "--host", HOST, "--port", str(MASTER_PORT),
                       "--webui-port", str(MASTER_UI_PORT)])
    for number in range(1, WORKERS + 1):
        work = folder / f"work-{number}"
        work.mkdir(exist_ok=True)
        _launch(f"worker-{number}", [WORKER_CLASS, "--host", HOST, "--cores", "1", "--memory", memory,
                                     "--webui-port", str(MASTER_UI_PORT + number), "--work-dir", str(work),
                                     f"spark://{HOST}:{MASTER_PORT}"])
    deadline = time.monotonic() + wait_seconds
    while time.monotonic() < deadline:
        state = master_state()
        if alive_workers(state) >= WORKERS:
            return state or {}
        time.sleep(1)
    stop()
    raise RuntimeError(f"the Spark cluster did not register {WORKERS} workers in {wait_seconds:.0f} s; "
                       f"see {folder}/*.log")


def stop() -> list[str]:
    """Stop every process this module started (SIGTERM, then SIGKILL); return what was stopped."""
    stopped = []
    for pid_file in sorted(cluster_dir().glob("*.pid")):
        pid = int(pid_file.read_text())
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(pid, sig)
            except ProcessLookupError:
                break
            for _ in range(50):
                try:
                    os.kill(pid, 0)
                except ProcessLookupError:
                    break
                time.sleep(0.1)
        pid_file.unlink(missing_ok=True)
        stopped.append(pid_file.stem)
    return stopped


def main(argv: list[str] | None = None) -> int:
    """CLI: start | stop | status."""
    parser = argparse.ArgumentParser(description="Local Spark standalone cluster (target spark_cluster).")
    parser.add_argument("command", choices=("start", "stop", "status"))
    args = parser.parse_args(argv)
    if args.command == "start":
        state = start()
        print(f"spark://{HOST}:{MASTER_PORT}: {alive_workers(state)} workers, {state.get('cores')} cores, "
              f"{state.get('memory')} MB (logs in {cluster_dir()})")
    elif args.command == "stop":
        print(f"stopped: {', '.join(stop()) or 'nothing was running'}")
    else:
        state = master_state()
        print("not running" if state is None else f"{alive_workers(state)} workers alive")
        return 0 if alive_workers(state) >= WORKERS else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
