"""`leakhunt serve`, `rules` and `scan` against real components: Debian's prometheus scrapes
`leakhunt serve` reading the database of a `leakhunt watch` of a leaking victim and evaluates the
rules of `leakhunt rules`; `scan` ranks a fleet loaded into the same Prometheus with
`promtool tsdb create-blocks-from openmetrics`; /debug/pprof/heap of a victim under the agent is
read back by `leakhunt top` and `go tool pprof`; the security checks (remote bind, tokens, path
traversal, escaping of hostile process names)."""
import http.client
import json
import math
import os
import random
import shutil
import signal
import ssl
import subprocess
import tempfile
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request

from harness import BIN, LEAKHUNT, Case, binary, free_port, json_lines, run

AGENT = os.path.join(os.path.dirname(BIN), "lib", "libleakhunt_agent.so")
PROMETHEUS = shutil.which("prometheus")
PROMTOOL = shutil.which("promtool")
GO = shutil.which("go")
MiB = 1 << 20
LEAK_RATE = 4 * MiB  # bytes per second of victim_leak --rate 4M


def http_get(url, headers=None, method="GET", timeout=30):
    """(status, headers, body bytes); HTTP errors are returned, not raised."""
    req = urllib.request.Request(url, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


def raw_get(port, path):
    """GET with the path sent byte for byte (no client-side normalization of ../)."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    c.putrequest("GET", path, skip_accept_encoding=True)
    c.endheaders()
    r = c.getresponse()
    body = r.read()
    c.close()
    return r.status, body


def start_serve(args, procs):
    p = subprocess.Popen([LEAKHUNT, "serve", "--listen", "127.0.0.1:0"] + args,
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                         start_new_session=True)
    procs.append(p)
    line = p.stdout.readline()
    if "listening on http://127.0.0.1:" not in line:
        raise AssertionError(f"serve did not start: {line!r}, exit {p.wait()}")
    return p, int(line.split("127.0.0.1:")[1].split("/")[0])


def record_dir_with_one_timeline(rec):
    """Makes `rec` with timeline.4242.csv (one row) in it; returns its path."""
    os.mkdir(rec)
    with open(os.path.join(rec, "timeline.4242.csv"), "w") as f:
        f.write("timestamp,rss_bytes,heap_inuse_bytes,heap_inuse_objects,agent_bytes,"
                "reason,snapshot\n1700000000,1000,500,5,10,request,heap.4242.0000.pb.gz\n")
    return rec


def stop(p):
    """SIGTERM, as systemd would: serve must exit 0."""
    p.send_signal(signal.SIGTERM)
    return p.wait(timeout=10)


# The fleet `scan` ranks: a day of one sample a minute, ending 10 minutes ago.
def fleet_series(now):
    step, n = 60, 24 * 60
    rnd = random.Random(7)
    start = int(now) - 600 - (n - 1) * step

    def noise():
        return rnd.uniform(-2, 2) * MiB

    shapes = {
        "leaky": lambda h: 200 * MiB + 30 * MiB * h,
        "slowleak": lambda h: 150 * MiB + 8 * MiB * h,
        "cache": lambda h: 200 * MiB + 400 * MiB * (1 - math.exp(-h / 2)),
        "api": lambda h: 300 * MiB + 100 * MiB * ((h * 3600) % 1800) / 1800,
    }
    out = {}
    for name, f in shapes.items():
        out[name] = [(start + i * step, int(f(i * step / 3600) + noise())) for i in range(n)]
    return out


# Two services with traffic (a day, one sample a minute): "busy" keeps memory in flight that
# follows its rising traffic (the clock says leak), "shrinking" keeps 64 B per request under
# falling traffic. Returns (memory, requests_total) per service.
def traffic_series(now):
    step, n = 60, 24 * 60
    rnd = random.Random(11)
    start = int(now) - 600 - (n - 1) * step
    rates = {"busy": lambda h: 50 + 10 * h, "shrinking": lambda h: 300 - 10 * h}
    out = {}
    for name, rate in rates.items():
        done, memory, total = 0.0, [], []
        for i in range(n):
            h = i * step / 3600
            if i:
                done += (rate(h) + rate(h - step / 3600)) / 2 * step
            keep = 1 * MiB * rate(h) if name == "busy" else 64 * done
            memory.append((start + i * step, int(150 * MiB + keep + rnd.uniform(-1, 1) * MiB)))
            total.append((start + i * step, int(done)))
        out[name] = (memory, total)
    return out


# Pods with restarts (a day, one sample a minute): "oomer" climbs to its limit and is OOM-killed
# every 50 minutes, "crashy" exits with an error every ~5 hours at a flat level, "calm" never
# restarts. Returns (memory, restarts_total, oom_killed) per pod.
def restart_series(now):
    step, n = 60, 24 * 60
    rnd = random.Random(13)
    start = int(now) - 600 - (n - 1) * step
    out = {}
    for pod, every in (("oomer", 50), ("crashy", 300), ("calm", None)):
        memory, restarts, oom = [], [], []
        for i in range(n):
            age = i % every if every else i
            level = 100 * MiB + (18 * MiB * age if pod == "oomer" else 0)
            memory.append((start + i * step, int(level + rnd.uniform(-1, 1) * MiB)))
            restarts.append((start + i * step, i // every if every else 0))
            oom.append((start + i * step, 1 if pod == "oomer" and i >= every else 0))
        out[pod] = (memory, restarts, oom)
    return out


def write_openmetrics(path, fleet, traffic=None, pods=None):
    with open(path, "w") as f:
        f.write("# HELP fleet_memory_bytes Working set of a service.\n")
        f.write("# TYPE fleet_memory_bytes gauge\n")
        for name, points in fleet.items():
            for t, v in points:
                f.write(f'fleet_memory_bytes{{service="{name}",env="test"}} {v} {t}\n')
        if traffic:
            f.write("# TYPE traffic_memory_bytes gauge\n")
            for name, (memory, _) in traffic.items():
                for t, v in memory:
                    f.write(f'traffic_memory_bytes{{service="{name}"}} {v} {t}\n')
            f.write("# TYPE traffic_requests counter\n")
            for name, (_, total) in traffic.items():
                for t, v in total:
                    f.write(f'traffic_requests_total{{service="{name}",code="200"}} {v} {t}\n')
        if pods:
            f.write("# TYPE pod_memory_bytes gauge\n")
            for pod, (memory, _, _) in pods.items():
                for t, v in memory:
                    f.write(f'pod_memory_bytes{{pod="{pod}",job="cadvisor"}} {v} {t}\n')
            f.write("# TYPE kube_pod_container_status_restarts counter\n")
            for pod, (_, restarts, _) in pods.items():
                for t, v in restarts:
                    f.write(f'kube_pod_container_status_restarts_total{{pod="{pod}",job="ksm"}} {v} {t}\n')
            f.write("# TYPE kube_pod_container_status_last_terminated_reason gauge\n")
            for pod, (_, _, oom) in pods.items():
                for t, v in oom:
                    f.write(f'kube_pod_container_status_last_terminated_reason{{pod="{pod}",job="ksm",reason="OOMKilled"}} {v} {t}\n')
        f.write("# EOF\n")


@unittest.skipUnless(PROMETHEUS and PROMTOOL, "Debian's prometheus is not installed")
class WithPrometheus(unittest.TestCase):
    """One Prometheus for the class: it scrapes serve (watching victim_leak) and holds the fleet."""

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="leakhunt-prom-")
        cls.procs = []
        try:
            cls._start()
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def _start(cls):
        d = cls.dir
        data = os.path.join(d, "data")
        om = os.path.join(d, "fleet.om")
        now = time.time()
        write_openmetrics(om, fleet_series(now), traffic_series(now), restart_series(now))
        r = subprocess.run([PROMTOOL, "tsdb", "create-blocks-from", "openmetrics", om, data],
                           capture_output=True, text=True, timeout=120)
        if r.returncode != 0:
            raise AssertionError(f"promtool create-blocks-from failed: {r.stdout} {r.stderr}")
        rules = os.path.join(d, "rules.yml")
        r = run(["rules", "--for", "1s", "--min-confidence", "0.5", "-o", rules])
        if r.returncode != 0:
            raise AssertionError(r.stderr)
        cls.db = os.path.join(d, "w.db")
        cls.watch = subprocess.Popen(
            [LEAKHUNT, "watch", "--db", cls.db, "--interval", "0.1", "--duration", "90",
             "--", binary("victim_leak"), "--rate", "4M"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        cls.procs.append(cls.watch)
        deadline = time.time() + 10
        while not os.path.exists(cls.db) and time.time() < deadline:
            time.sleep(0.1)
        cls.serve, cls.serve_port = start_serve(["--db", cls.db], cls.procs)
        cls.prom_port = free_port()
        config = os.path.join(d, "prometheus.yml")
        with open(config, "w") as f:
            f.write("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
                    f"rule_files: ['{rules}']\n"
                    "scrape_configs:\n  - job_name: leakhunt\n    static_configs:\n"
                    f"      - targets: ['127.0.0.1:{cls.serve_port}']\n")
        cls.prom_log = open(os.path.join(d, "prometheus.log"), "w")
        cls.prom = subprocess.Popen(
            [PROMETHEUS, f"--config.file={config}", f"--storage.tsdb.path={data}",
             f"--web.listen-address=127.0.0.1:{cls.prom_port}", "--log.level=warn"],
            stdout=cls.prom_log, stderr=cls.prom_log, start_new_session=True)
        cls.procs.append(cls.prom)
        cls.url = f"http://127.0.0.1:{cls.prom_port}"
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                if http_get(cls.url + "/-/ready", timeout=2)[0] == 200:
                    return
            except OSError:
                pass
            if cls.prom.poll() is not None:
                break
            time.sleep(0.2)
        with open(os.path.join(d, "prometheus.log")) as f:
            raise AssertionError("prometheus did not become ready: " + f.read()[-2000:])

    @classmethod
    def tearDownClass(cls):
        for p in cls.procs:
            if p.poll() is None:
                try:
                    os.killpg(p.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                p.wait()
            if p.stdout:
                p.stdout.close()
        if getattr(cls, "prom_log", None):
            cls.prom_log.close()
        shutil.rmtree(cls.dir, ignore_errors=True)

    def query(self, promql):
        s, _, body = http_get(self.url + "/api/v1/query?" + urllib.parse.urlencode({"query": promql}))
        self.assertEqual(s, 200, body)
        return json.loads(body)["data"]["result"]

    def wait_for(self, promql, timeout=45):
        deadline = time.time() + timeout
        while time.time() < deadline:
            result = self.query(promql)
            if result:
                return result
            time.sleep(0.5)
        self.fail(f"{promql} returned nothing within {timeout} s")

    def test_growth_rate_of_the_watched_victim_reaches_prometheus(self):
        self.wait_for('leakhunt_leak_verdict{verdict="leak"} == 1')
        result = self.query("leakhunt_memory_growth_bytes_per_second")
        self.assertEqual(len(result), 1, result)
        labels = result[0]["metric"]
        self.assertEqual(labels["name"], "victim_leak")
        self.assertEqual(labels["job"], "leakhunt")
        rate = float(result[0]["value"][1])
        self.assertGreater(rate, 0)
        self.assertAlmostEqual(rate / LEAK_RATE, 1.0, delta=0.25)
        # Every other family of the process came along, scraped without errors.
        for name in ("leakhunt_process_resident_memory_bytes", "leakhunt_verdict_confidence",
                     "leakhunt_build_info", "leakhunt_scrape_duration_seconds"):
            self.assertTrue(self.query(name), name)
        up = self.query('up{job="leakhunt"}')
        self.assertEqual(up[0]["value"][1], "1")

    def test_rules_fire_the_leak_alert(self):
        alerts = self.wait_for('ALERTS{alertname="MemoryLeak",alertstate="firing"}')
        self.assertEqual(alerts[0]["metric"]["name"], "victim_leak")

    def scan(self, args):
        return run(["scan", "--prometheus", self.url] + args, timeout=120)

    def test_scan_ranks_the_fleet(self):
        r = self.scan(["--query", 'fleet_memory_bytes{env="test"}', "--range", "1d", "--json",
                       "--fail-on-leak"])
        self.assertEqual(r.returncode, 3, r.stderr)
        rows = json_lines(r.stdout)
        self.assertEqual([(o["labels"]["service"], o["verdict"]) for o in rows],
                         [("leaky", "leak"), ("slowleak", "leak"), ("cache", "bounded"),
                          ("api", "healthy")])
        self.assertEqual([o["rank"] for o in rows], [1, 2, 3, 4])
        self.assertAlmostEqual(rows[0]["growth_bytes_per_hour"] / (30 * MiB), 1.0, delta=0.05)
        self.assertAlmostEqual(rows[1]["growth_bytes_per_hour"] / (8 * MiB), 1.0, delta=0.1)
        # The text table: the label that tells the series apart, and a summary line.
        t = self.scan(["--query", 'fleet_memory_bytes{env="test"}', "--range", "1d", "--top", "2"])
        self.assertEqual(t.returncode, 0, t.stderr)
        lines = t.stdout.splitlines()
        self.assertIn("4 series of fleet_memory_bytes{env=\"test\"} over 1d", lines[0])
        self.assertIn("2 leak, 1 bounded, 1 healthy", lines[0])
        self.assertTrue(lines[1].startswith("SERIES"), lines[1])
        self.assertTrue(lines[2].startswith('{service="leaky"}'), lines[2])
        self.assertIn("LEAK", lines[2])
        self.assertTrue(lines[3].startswith('{service="slowleak"}'), lines[3])
        self.assertEqual(lines[4], "(2 more; --top 0 shows all)")

    def test_scan_judges_memory_per_request(self):
        r = self.scan(["--query", "traffic_memory_bytes", "--range", "1d", "--json",
                       "--work-query", "sum by (service) (rate(traffic_requests_total[5m]))"])
        self.assertEqual(r.returncode, 0, r.stderr)
        rows = {o["labels"]["service"]: o for o in json_lines(r.stdout)}
        shrinking, busy = rows["shrinking"], rows["busy"]
        self.assertEqual(shrinking["verdict"], "leak", shrinking["evidence"])
        self.assertAlmostEqual(shrinking["per_work"]["bytes_per_unit"] / 64, 1.0, delta=0.1)
        self.assertEqual(busy["time_verdict"], "leak")
        self.assertNotEqual(busy["verdict"], "leak", busy["evidence"])
        self.assertIn("memory follows the traffic", " ".join(busy["evidence"]))
        t = self.scan(["--query", "traffic_memory_bytes", "--range", "1d", "--work-query",
                       "sum by (service) (rate(traffic_requests_total[5m]))"])
        self.assertEqual(t.returncode, 0, t.stderr)
        lines = t.stdout.splitlines()
        self.assertTrue(lines[1].endswith("PER REQUEST"), lines[1])
        self.assertRegex(lines[2], r'^\{service="shrinking"\}.*LEAK.*  \+6[0-9] B$')

    def test_scan_ranks_the_pod_the_oom_killer_restarts_first_with_its_cadence(self):
        args = ["--query", "pod_memory_bytes", "--range", "1d",
                "--restarts-query", "kube_pod_container_status_restarts_total",
                "--oom-query", 'kube_pod_container_status_last_terminated_reason{reason="OOMKilled"}']
        r = self.scan(args + ["--json"])
        self.assertEqual(r.returncode, 0, r.stderr)
        rows = json_lines(r.stdout)
        self.assertEqual(rows[0]["labels"]["pod"], "oomer", r.stdout[:3000])
        oomer = rows[0]
        self.assertEqual(oomer["verdict"], "leak")
        self.assertIn("oom_restarts", oomer["flags"])
        self.assertTrue(oomer["restarts"]["oom"])
        self.assertTrue(oomer["restarts"]["regular"])
        self.assertGreaterEqual(oomer["restarts"]["count"], 25)
        self.assertAlmostEqual(oomer["restarts"]["median_gap_s"], 50 * 60, delta=2 * 87)
        self.assertRegex(oomer["evidence"][0], r"^restarted by the OOM killer every 4[89]m|^restarted by the OOM killer every 5[01]m")
        by_pod = {o["labels"]["pod"]: o for o in rows}
        self.assertNotEqual(by_pod["crashy"]["verdict"], "leak", by_pod["crashy"]["evidence"])
        self.assertFalse(by_pod["crashy"]["restarts"]["oom"])
        self.assertIn("restarts", by_pod["crashy"]["flags"])
        self.assertEqual(by_pod["calm"]["restarts"]["count"], 0)
        self.assertNotEqual(by_pod["calm"]["verdict"], "leak")
        t = self.scan(args)
        lines = t.stdout.splitlines()
        self.assertTrue(lines[1].endswith("RESTARTS"), lines[1])
        self.assertRegex(lines[2], r'^\{pod="oomer"\}\s+LEAK .* OOM every ')

    def test_scan_raises_a_step_over_the_point_limit_and_says_so(self):
        r = self.scan(["--query", 'fleet_memory_bytes{service="api"}', "--range", "1d",
                       "--step", "1s", "--json"])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("--step 1s would ask for 86400 points per series, over Prometheus' limit "
                      "of 11000; using --step 8s", r.stderr)
        self.assertEqual(json_lines(r.stdout)[0]["verdict"], "healthy")

    def test_scan_quotes_the_prometheus_error_of_a_bad_query(self):
        r = self.scan(["--query", "sum(fleet_memory_bytes", "--range", "1h"])
        self.assertEqual(r.returncode, 1)
        self.assertRegex(r.stderr, r'rejected the query \(HTTP 400\): bad_data: "[^"]*parse error')

    def test_scan_of_a_query_without_series_says_so(self):
        r = self.scan(["--query", "no_such_metric_anywhere", "--range", "1h"])
        self.assertEqual(r.returncode, 1)
        self.assertIn("no series", r.stderr)


class ScanErrors(Case):
    def test_down_server(self):
        r = run(["scan", "--prometheus", f"http://127.0.0.1:{free_port()}", "--query", "up"])
        self.assertEqual(r.returncode, 1)
        self.assertIn("cannot reach Prometheus at http://127.0.0.1:", r.stderr)

    def test_other_schemes_are_a_usage_error(self):
        r = run(["scan", "--prometheus", "ftp://prom:9090", "--query", "up"])
        self.assertEqual(r.returncode, 2)
        self.assertIn("expected a URL like http://localhost:9090 or https://", r.stderr)
        r = run(["scan", "--prometheus", "https://127.0.0.1:1", "--query", "up", "--ca-cert",
                 "/no/such/ca.pem"])
        self.assertEqual(r.returncode, 2)
        self.assertIn("--ca-cert /no/such/ca.pem: no such file", r.stderr)


@unittest.skipUnless(PROMETHEUS and PROMTOOL and shutil.which("openssl"),
                     "needs Debian's prometheus and openssl")
class ScanOverTls(Case):
    """`scan` of a real Prometheus that serves https only (--web.config.file), with a
    self-signed certificate for 127.0.0.1: trusted through --ca-cert, refused without it."""

    def test_scan_over_https(self):
        d = self.dir
        cert, key = os.path.join(d, "cert.pem"), os.path.join(d, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                        "-out", cert, "-days", "2", "-subj", "/CN=127.0.0.1",
                        "-addext", "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True)
        web = os.path.join(d, "web.yml")
        with open(web, "w") as f:
            f.write(f"tls_server_config:\n  cert_file: {cert}\n  key_file: {key}\n")
        config = os.path.join(d, "prometheus.yml")
        with open(config, "w") as f:
            f.write("global:\n  scrape_interval: 15s\n")
        data = os.path.join(d, "data")
        om = os.path.join(d, "fleet.om")
        write_openmetrics(om, fleet_series(time.time()))
        subprocess.run([PROMTOOL, "tsdb", "create-blocks-from", "openmetrics", om, data],
                       check=True, capture_output=True, timeout=120)
        port = free_port()
        log = open(os.path.join(d, "prometheus.log"), "w")
        prom = subprocess.Popen([PROMETHEUS, f"--config.file={config}", f"--storage.tsdb.path={data}",
                                 f"--web.listen-address=127.0.0.1:{port}", f"--web.config.file={web}",
                                 "--log.level=warn"], stdout=log, stderr=log, start_new_session=True)
        try:
            url = f"https://127.0.0.1:{port}"
            ctx = ssl.create_default_context(cafile=cert)
            deadline = time.time() + 60
            while time.time() < deadline:
                try:
                    with urllib.request.urlopen(url + "/-/ready", timeout=2, context=ctx) as resp:
                        if resp.status == 200:
                            break
                except OSError:
                    time.sleep(0.2)
            query = ["--query", 'fleet_memory_bytes{env="test"}', "--range", "1d", "--json"]
            r = run(["scan", "--prometheus", url, "--ca-cert", cert] + query, timeout=120)
            self.assertEqual(r.returncode, 0, r.stderr)
            rows = json_lines(r.stdout)
            self.assertEqual([(o["labels"]["service"], o["verdict"]) for o in rows][:2],
                             [("leaky", "leak"), ("slowleak", "leak")])
            # Not trusted: one line that says TLS failed and what to do.
            r = run(["scan", "--prometheus", url] + query, timeout=120,
                    env={**os.environ, "SSL_CERT_FILE": os.devnull, "SSL_CERT_DIR": d})
            self.assertEqual(r.returncode, 1)
            self.assertIn(f"cannot reach Prometheus at {url}: the server's certificate was not "
                          "accepted (check its certificate, or name its CA with --ca-cert)",
                          r.stderr)
        finally:
            os.killpg(prom.pid, signal.SIGKILL)
            prom.wait()
            log.close()


@unittest.skipUnless(PROMTOOL, "Debian's prometheus (promtool) is not installed")
class Rules(Case):
    def test_promtool_accepts_the_rules(self):
        out = self.path("rules.yml")
        r = run(["rules", "--for", "45m", "--min-confidence", "0.9", "--limit-within", "2h",
                 "-o", out])
        self.assertEqual(r.returncode, 0, r.stderr)
        c = subprocess.run([PROMTOOL, "check", "rules", out], capture_output=True, text=True)
        self.assertEqual(c.returncode, 0, c.stdout + c.stderr)
        self.assertIn("SUCCESS: 5 rules found", c.stdout)
        with open(out) as f:
            text = f.read()
        self.assertIn("for: 45m", text)
        self.assertIn("leakhunt_verdict_confidence >= 0.9", text)
        self.assertIn("leakhunt_projected_limit_seconds < 7200", text)

    def test_bad_confidence_is_a_usage_error(self):
        r = run(["rules", "--min-confidence", "1.5"])
        self.assertEqual(r.returncode, 2)
        self.assertIn("--min-confidence", r.stderr)


class Security(Case):
    def test_remote_bind_without_token_is_refused(self):
        for listen in ("0.0.0.0:0", "[::]:0", "192.0.2.1:9464"):
            r = run(["serve", "--listen", listen, "--db", self.path("none.db")], timeout=10)
            self.assertEqual(r.returncode, 2, listen)
            self.assertIn("reachable from other hosts", r.stderr)
            self.assertIn("--token-file", r.stderr)

    def test_tokens_guard_state_changing_endpoints(self):
        token = self.path("token")
        with open(token, "w") as f:
            f.write("s3cret-token\n")
        p, port = start_serve(["--db", self.path("none.db"), "--token-file", token], self.procs)
        url = f"http://127.0.0.1:{port}/api/snapshot?pid=1"
        s, h, body = http_get(url, method="POST")
        self.assertEqual(s, 401, body)
        self.assertIn("Bearer", h["WWW-Authenticate"])
        s, _, body = http_get(url, {"Authorization": "Bearer wrong-token!"}, method="POST")
        self.assertEqual(s, 403, body)
        self.assertEqual(body, b"wrong token\n")
        s, _, body = http_get(url, {"Authorization": "Bearer s3cret-token"}, method="POST")
        self.assertEqual(s, 404, body)  # authorized; pid 1 runs no agent
        self.assertIn(b"no leakhunt agent answers in process 1", body)
        # /metrics is read-only and stays open.
        self.assertEqual(http_get(f"http://127.0.0.1:{port}/metrics")[0], 200)
        self.assertEqual(stop(p), 0)

    def test_without_a_token_state_changing_endpoints_are_refused(self):
        p, port = start_serve(["--db", self.path("none.db")], self.procs)
        s, _, body = http_get(f"http://127.0.0.1:{port}/api/snapshot?pid=1",
                              {"Authorization": "Bearer anything"}, method="POST")
        self.assertEqual(s, 403)
        self.assertIn(b"needs a token", body)
        self.assertEqual(stop(p), 0)

    def test_files_outside_the_record_directory_are_refused(self):
        rec = record_dir_with_one_timeline(self.path("rec"))
        with open(self.path("secret.txt"), "w") as f:
            f.write("secret")
        os.symlink(self.path("secret.txt"), os.path.join(rec, "link.txt"))
        os.mkdir(self.path("rec2"))
        with open(self.path("rec2/other.txt"), "w") as f:
            f.write("other")
        p, port = start_serve(["--dir", rec], self.procs)
        s, body = raw_get(port, "/files/0/timeline.4242.csv")
        self.assertEqual(s, 200)
        self.assertTrue(body.startswith(b"timestamp,rss_bytes"))
        for path in ("/files/0/../secret.txt", "/files/0/%2e%2e/secret.txt",
                     "/files/0/..%2fsecret.txt", "/files/0/link.txt", "/files/0/../rec2/other.txt",
                     "/files/0/%2Ftmp%2Fsecret.txt", "/files/1/timeline.4242.csv",
                     "/files/0/nonexistent"):
            s, body = raw_get(port, path)
            self.assertIn(s, (400, 404), path)
            self.assertNotIn(b"secret", body, path)
            self.assertNotIn(b"other", body, path)
        self.assertEqual(stop(p), 0)

    def test_hostile_process_name_is_escaped(self):
        # A program whose name is markup and quotes, watched into a database.
        evil = self.path("vic<script>alert(\"x\")'")
        shutil.copy(binary("victim_steady"), evil)
        db = self.path("w.db")
        r = run(["watch", "--db", db, "--interval", "0.1", "--duration", "2", "--",
                 evil, "--live", "1M"], timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        p, port = start_serve(["--db", db], self.procs)
        s, h, body = http_get(f"http://127.0.0.1:{port}/metrics")
        self.assertEqual(s, 200)
        self.assertEqual(h["Content-Type"], "text/plain; version=0.0.4; charset=utf-8")
        text = body.decode()
        self.assertIn('name="vic<script>alert(\\"x\\")\'"', text)
        if PROMTOOL:
            c = subprocess.run([PROMTOOL, "check", "metrics"], input=text, capture_output=True,
                               text=True)
            self.assertEqual(c.returncode, 0, c.stdout + c.stderr)
        s, h, body = http_get(f"http://127.0.0.1:{port}/")
        self.assertEqual(s, 200)
        page = body.decode()
        self.assertNotIn("<script>", page)
        self.assertIn("vic&lt;script&gt;alert(&quot;x&quot;)&#39;", page)
        # The old endpoint index moved to /endpoints; the live UI's pages escape the name too.
        s, _, body = http_get(f"http://127.0.0.1:{port}/endpoints")
        self.assertEqual(s, 200)
        self.assertIn("/metrics", body.decode())
        s, _, body = http_get(f"http://127.0.0.1:{port}/api/targets.json")
        targets = json.loads(body)
        self.assertEqual(len(targets), 1)
        self.assertEqual(targets[0]["name"], "vic<script>alert(\"x\")'")
        s, _, body = http_get(f"http://127.0.0.1:{port}{targets[0]['url']}")
        self.assertEqual(s, 200)
        self.assertNotIn("<script>alert", body.decode())
        s, h, body = http_get(f"http://127.0.0.1:{port}/api/report.json?"
                              + targets[0]["url"].split("?", 1)[1])
        self.assertEqual(s, 200)
        self.assertEqual(h["X-Leakhunt-Cache"], "miss")
        self.assertNotIn(b"<", body)
        data = json.loads(body)
        self.assertEqual(len(data["timeline"]["t"]), targets[0]["samples"])
        s, h, body2 = http_get(f"http://127.0.0.1:{port}/api/report.json?"
                               + targets[0]["url"].split("?", 1)[1])
        self.assertEqual(h["X-Leakhunt-Cache"], "hit")
        self.assertEqual(body2, body)
        for bad in ("db=7&target=x", "dir=0&pid=1", "db=0", "db=../x&target=y", "db=0&target=nope"):
            s, _, _ = http_get(f"http://127.0.0.1:{port}/api/report.json?{bad}")
            self.assertIn(s, (400, 404), bad)
        self.assertEqual(stop(p), 0)


class PprofHeap(Case):
    def test_heap_profile_of_a_victim_under_the_agent(self):
        rec = self.path("rec")
        os.mkdir(rec)
        env = dict(os.environ, LD_PRELOAD=AGENT, LEAKHUNT_OUT=rec, LEAKHUNT_SAMPLE_INTERVAL="4096")
        v = subprocess.Popen([binary("victim_leak"), "--rate", "2M"], stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, text=True, env=env,
                             start_new_session=True)
        self.procs.append(v)
        self.assertEqual(v.stdout.readline().strip(), "ready")
        time.sleep(1)
        p, port = start_serve(["--dir", rec], self.procs)
        # No ?pid: the one process under the agent writing into --dir.
        s, h, body = http_get(f"http://127.0.0.1:{port}/debug/pprof/heap")
        self.assertEqual(s, 200, body)
        self.assertEqual(h["Content-Type"], "application/octet-stream")
        self.assertEqual(body[:2], b"\x1f\x8b")  # gzip, as Go's handler sends
        prof = self.path("heap.pb.gz")
        with open(prof, "wb") as f:
            f.write(body)
        top = run(["top", "--json", prof])
        self.assertEqual(top.returncode, 0, top.stderr)
        first = json_lines(top.stdout)[0]
        self.assertIn("allocate_touched", first["function"])
        self.assertGreater(first["inuse_bytes"], 512 * 1024)
        if GO:
            g = subprocess.run([GO, "tool", "pprof", "-top", prof], capture_output=True,
                               text=True, timeout=120)
            self.assertEqual(g.returncode, 0, g.stderr)
            self.assertIn("leakhunt::victims::allocate_touched", g.stdout)
            self.assertIn("Type: inuse_space", g.stdout)
        # An explicit pid, and one with no agent.
        s, _, body = http_get(f"http://127.0.0.1:{port}/debug/pprof/heap?pid={v.pid}&symbolize=0")
        self.assertEqual(s, 200)
        self.assertEqual(body[:2], b"\x1f\x8b")
        s, _, body = http_get(f"http://127.0.0.1:{port}/debug/pprof/heap?pid={os.getpid()}")
        self.assertEqual(s, 404)
        self.assertIn(b"no leakhunt agent answers", body)
        s, _, _ = http_get(f"http://127.0.0.1:{port}/debug/pprof/heap?pid=abc")
        self.assertEqual(s, 400)
        # The record directory's process is on /metrics with its heap in use.
        s, _, body = http_get(f"http://127.0.0.1:{port}/metrics")
        self.assertIn(f'leakhunt_process_heap_inuse_bytes{{target="record:{rec}:{v.pid}",'
                      f'name="victim_leak",pid="{v.pid}"}}', body.decode())
        self.assertEqual(stop(p), 0)


if __name__ == "__main__":
    unittest.main()
