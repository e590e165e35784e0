#!/usr/bin/env python3
"""Record a memory series of one real process into the series CSV of DESIGN.md.

record_trace.py starts a command (or attaches to --pid), samples /proc/PID/status (VmRSS,
RssAnon, Threads) and the number of entries in /proc/PID/fd every --interval seconds for
--duration seconds, and writes `t_seconds,rss_bytes,anon_bytes,fds,threads` with t relative to
the first sample. With --load 'CMD' a load generator runs concurrently in its own process group:
it starts once the target is up (after --load-delay seconds, and once --wait-port accepts a
connection if given) and is killed at the end, as is a target the script started. The CSV is
written to a temporary name and renamed, so an interrupted recording never leaves half a file.
The recordings under tests/data/traces/ were made with this script; it only needs Python 3.8+.

Example:
  scripts/record_trace.py --interval 1 --duration 300 --out leak.csv \
      --load 'wrk -t1 -c2 -d1h http://127.0.0.1:8080/session?user=1' --wait-port 8080 \
      -- build/bin/leaky_service --mode leak
"""

import argparse
import os
import shlex
import signal
import socket
import subprocess
import sys
import time


def parse_args(argv):
    parser = argparse.ArgumentParser(
        description="Sample RSS, anon, fds and threads of a process into a series CSV.")
    parser.add_argument("--interval", type=float, default=1.0, help="seconds between samples")
    parser.add_argument("--duration", type=float, default=300.0, help="seconds to record")
    parser.add_argument("--out", required=True, help="output CSV path")
    parser.add_argument("--pid", type=int, help="attach to this process instead of starting one")
    parser.add_argument("--load", help="shell command run concurrently as a load generator")
    parser.add_argument("--load-delay", type=float, default=1.0,
                        help="seconds after the target starts before the load starts")
    parser.add_argument("--wait-port", type=int,
                        help="wait until 127.0.0.1:PORT accepts a connection before the load")
    parser.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    parser.add_argument("command", nargs=argparse.REMAINDER,
                        help="-- CMD ARGS: the program to start and record")
    args = parser.parse_args(argv)
    if args.command and args.command[0] == "--":
        args.command = args.command[1:]
    if bool(args.command) == (args.pid is not None):
        parser.error("give exactly one of --pid PID or -- CMD ARGS")
    if args.interval <= 0 or args.duration <= 0:
        parser.error("--interval and --duration must be positive")
    return args


def read_sample(pid):
    """Returns (rss_bytes, anon_bytes, fds, threads), or None once the process is gone."""
    values = {}
    try:
        with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as status:
            for line in status:
                key, _, rest = line.partition(":")
                if key in ("VmRSS", "RssAnon", "Threads", "State"):
                    values[key] = rest.split()
        fds = len(os.listdir(f"/proc/{pid}/fd"))
    except (FileNotFoundError, ProcessLookupError):
        return None
    except PermissionError as error:
        sys.exit(f"record_trace: error: cannot read /proc/{pid}: {error} "
                 "(run as the process owner or root)")
    # A zombie has no VmRSS line: treat it as gone.
    if "VmRSS" not in values or values.get("State", ["?"])[0] == "Z":
        return None
    rss = int(values["VmRSS"][0]) * 1024  # the kernel reports kB (KiB)
    anon = int(values["RssAnon"][0]) * 1024 if "RssAnon" in values else rss
    threads = int(values["Threads"][0]) if "Threads" in values else 0
    return rss, anon, fds, threads


def wait_for_port(port, deadline):
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.1)
    return False


def stop_group(process, name, quiet):
    """SIGTERM the process group we created, then SIGKILL after 5 s."""
    if process is None or process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        if not quiet:
            print(f"record_trace: {name} ignored SIGTERM; killing it", file=sys.stderr)
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def main(argv):
    args = parse_args(argv)
    target = None
    load = None
    if args.command:
        # A new session makes the target a process group we can signal as a whole.
        target = subprocess.Popen(args.command, start_new_session=True,
                                  stdout=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
        pid = target.pid
    else:
        pid = args.pid

    rows = []
    start = time.monotonic()
    load_due = start + args.load_delay
    next_sample = start
    ended_early = False
    try:
        while True:
            now = time.monotonic()
            if args.load and load is None and now >= load_due:
                if args.wait_port is None or wait_for_port(args.wait_port, now + 30):
                    load = subprocess.Popen(args.load, shell=True, start_new_session=True,
                                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                else:
                    sys.exit(f"record_trace: error: port {args.wait_port} never opened "
                             "(is the target listening there?)")
            sample = read_sample(pid)
            if sample is None:
                ended_early = True
                break
            t = time.monotonic() - start
            rows.append((t, *sample))
            if not args.quiet and len(rows) % 30 == 1:
                print(f"record_trace: t={t:.0f}s rss={sample[0] / 2**20:.1f} MiB "
                      f"fds={sample[2]} threads={sample[3]}", file=sys.stderr)
            if t >= args.duration:
                break
            # Absolute schedule: no drift from the time a sample takes.
            next_sample += args.interval
            time.sleep(max(0.0, next_sample - time.monotonic()))
    except KeyboardInterrupt:
        pass
    finally:
        stop_group(load, "load", args.quiet)
        stop_group(target, "target", args.quiet)

    tmp = f"{args.out}.tmp{os.getpid()}"
    with open(tmp, "w", encoding="ascii") as out:
        out.write("t_seconds,rss_bytes,anon_bytes,fds,threads\n")
        for t, rss, anon, fds, threads in rows:
            out.write(f"{t:.2f},{rss},{anon},{fds},{threads}\n")
    os.replace(tmp, args.out)
    if ended_early and not args.quiet:
        print(f"record_trace: process {pid} exited after {len(rows)} samples", file=sys.stderr)
    if not args.quiet:
        print(f"record_trace: wrote {len(rows)} samples to {args.out} "
              f"({shlex.join(args.command) if args.command else f'pid {pid}'})",
              file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
