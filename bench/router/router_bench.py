#!/usr/bin/env python3
"""Router benchmark: Berth's router (lua and classic modes) vs confd, on the same etcd, nginx
and routes, all on loopback. Run through bench/router/run.sh, which builds berth first.

Figures:
  (a) etcd put of a new route -> first 200 through nginx: median of 20, with 20 and 5,000 routes
  (b) burst of 300 puts: time until all answer, and nginx reloads made
  (c) 10,000 routes present at start: time until all are served (render+apply), router RSS
"""
import argparse, base64, http.client, http.server, json, os, re, shutil, signal, socket
import statistics, subprocess, sys, tempfile, threading, time

LOOP = "127.0.0.1"


def free_port():
    s = socket.socket()
    s.bind((LOOP, 0))
    p = s.getsockname()[1]
    s.close()
    return p


class Upstream(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"

    def do_GET(self):
        body = b"ok\n"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *a):
        pass


class Etcd:
    def __init__(self, tmp):
        self.port, peer = free_port(), free_port()
        self.dir = os.path.join(tmp, "etcd")
        self.log = open(os.path.join(tmp, "etcd.log"), "w")
        self.proc = subprocess.Popen(
            ["etcd", "--data-dir", self.dir, "--listen-client-urls", f"http://{LOOP}:{self.port}",
             "--advertise-client-urls", f"http://{LOOP}:{self.port}",
             "--listen-peer-urls", f"http://{LOOP}:{peer}",
             "--initial-advertise-peer-urls", f"http://{LOOP}:{peer}",
             "--initial-cluster", f"default=http://{LOOP}:{peer}", "--quota-backend-bytes", "4294967296"],
            stdout=self.log, stderr=subprocess.STDOUT)
        self.conn = None
        for _ in range(200):
            try:
                if self.call("/v3/kv/range", {"key": b64("x")}) is not None:
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("etcd did not start")

    def call(self, path, body):
        for attempt in range(3):
            try:
                if self.conn is None:
                    self.conn = http.client.HTTPConnection(LOOP, self.port, timeout=30)
                self.conn.request("POST", path, json.dumps(body), {"Content-Type": "application/json"})
                r = self.conn.getresponse()
                data = r.read()
                if r.status != 200:
                    raise RuntimeError(f"etcd {path}: {r.status} {data[:200]}")
                return json.loads(data)
            except (OSError, http.client.HTTPException):
                self.conn = None
                if attempt == 2:
                    raise

    def put(self, k, v):
        return self.call("/v3/kv/put", {"key": b64(k), "value": b64(v)})

    def delete_prefix(self, prefix):
        end = prefix[:-1] + chr(ord(prefix[-1]) + 1)
        self.call("/v3/kv/deleterange", {"key": b64(prefix), "range_end": b64(end)})

    def stop(self):
        self.proc.terminate()
        self.proc.wait()


def b64(s):
    return base64.b64encode(s.encode()).decode()


def route(name, port):
    return (f"/devnginx/default/{name}",
            json.dumps({"name": name, "http_port": port, "https_port": 0,
                        "domain": f"{name}.ctest.localhost", "host_ip": LOOP}))


def status(port, host):
    try:
        c = http.client.HTTPConnection(LOOP, port, timeout=5)
        c.request("GET", "/", headers={"Host": host})
        r = c.getresponse()
        r.read()
        c.close()
        return r.status
    except (OSError, http.client.HTTPException):
        return 0


def wait_200(port, host, timeout=120):
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if status(port, host) == 200:
            return True
        time.sleep(0.0005)
    return False


def rss_kb(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def count_reloads(log):
    try:
        with open(log) as f:
            return sum(1 for line in f if "reconfiguring" in line)
    except OSError:
        return 0


# --- peers -------------------------------------------------------------------------------------

class BerthRouter:
    def __init__(self, berth, mode, etcd, tmp):
        self.name = f"berth-{mode}"
        self.http = free_port()
        self.prefix = os.path.join(tmp, f"nginx-{mode}")
        self.args = [berth, "router", "--etcd", f"{LOOP}:{etcd.port}", "--mode", mode,
                     "--prefix", self.prefix, "--listen-http", f"{LOOP}:{self.http}"]
        self.logf = os.path.join(tmp, f"{self.name}.log")
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen(self.args, stdout=open(self.logf, "w"), stderr=subprocess.STDOUT)

    def ready(self):
        return status(self.http, "nothing.invalid") == 404

    def pid(self):
        return self.proc.pid

    def error_log(self):
        return os.path.join(self.prefix, "logs", "error.log")

    def stop(self):
        if self.proc:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


NGINX_MAIN = """worker_processes 1;
pid {p}/logs/nginx.pid;
error_log {p}/logs/error.log notice;
events {{ worker_connections 4096; }}
http {{
    access_log {p}/logs/access.log combined buffer=64k flush=1s;
    client_body_temp_path {p}/temp/client_body;
    proxy_temp_path {p}/temp/proxy;
    fastcgi_temp_path {p}/temp/fastcgi;
    uwsgi_temp_path {p}/temp/uwsgi;
    scgi_temp_path {p}/temp/scgi;
    server_names_hash_max_size 131072;
    server_names_hash_bucket_size 512;
    proxy_cache off;
    proxy_set_header Host $host;
    proxy_set_header X-Real-IP $remote_addr;
    proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
    proxy_set_header X-Forwarded-Proto $scheme;
    client_max_body_size 2000m;
    client_body_buffer_size 128k;
    proxy_connect_timeout 120;
    server {{
        listen {listen} default_server;
        return 404;
    }}
    include {p}/conf/conf.d/*.conf;
}}
"""

# The same server-block shape berth's classic mode renders (the original's headers and limits at
# http level; proxy_pass through a variable, since upstream{} per route parses quadratically).
CONFD_TEMPLATE = """{{range $r := getvs "/devnginx/default/*"}}{{$v := json $r}}
server {
    listen LISTEN;
    server_name {{$v.domain}};
    location / {
        set $berth_upstream {{$v.host_ip}}:{{$v.http_port}};
        proxy_pass http://$berth_upstream;
    }
}
{{end}}"""


class Confd:
    """confd -watch (or Berth's confd-compatible runner) with its own nginx."""

    def __init__(self, argv0, etcd, tmp, name="confd"):
        self.name = name
        self.http = free_port()
        self.prefix = os.path.join(tmp, f"nginx-{name}")
        p = self.prefix
        for d in ("conf/conf.d", "logs", "temp", "confd/conf.d", "confd/templates"):
            os.makedirs(os.path.join(p, d), exist_ok=True)
        with open(os.path.join(p, "conf/nginx.conf"), "w") as f:
            f.write(NGINX_MAIN.format(p=p, listen=f"{LOOP}:{self.http}"))
        open(os.path.join(p, "conf/conf.d/routes.conf"), "w").close()
        with open(os.path.join(p, "confd/templates/routes.conf.tmpl"), "w") as f:
            f.write(CONFD_TEMPLATE.replace("LISTEN", f"{LOOP}:{self.http}"))
        ng = f"nginx -p {p}/ -c {p}/conf/nginx.conf"
        with open(os.path.join(p, "confd/conf.d/routes.toml"), "w") as f:
            f.write(f'''[template]
src = "routes.conf.tmpl"
dest = "{p}/conf/conf.d/routes.conf"
keys = [ "/devnginx/default" ]
reload_cmd = "{ng} -t && {ng} -s reload"
''')
        self.nginx = subprocess.Popen(["nginx", "-p", p + "/", "-c", f"{p}/conf/nginx.conf", "-g", "daemon off;"])
        if name == "confd":
            self.args = [argv0, "-watch", "-backend", "etcdv3", "-node", f"http://{LOOP}:{etcd.port}",
                         "-confdir", f"{p}/confd", "-log-level", "warn"]
        else:
            self.args = [argv0, "router", "--confdir", f"{p}/confd", "--watch", "--node",
                         f"http://{LOOP}:{etcd.port}"]
        self.logf = os.path.join(tmp, f"{name}.log")
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen(self.args, stdout=open(self.logf, "w"), stderr=subprocess.STDOUT)

    def ready(self):
        return status(self.http, "nothing.invalid") == 404 and self.proc.poll() is None

    def pid(self):
        return self.proc.pid

    def error_log(self):
        return os.path.join(self.prefix, "logs", "error.log")

    def stop(self):
        for pr in (self.proc, self.nginx):
            if pr and pr.poll() is None:
                pr.send_signal(signal.SIGTERM if pr is self.proc else signal.SIGQUIT)
                try:
                    pr.wait(30)
                except subprocess.TimeoutExpired:
                    pr.kill()
                    pr.wait()


# --- scenarios ---------------------------------------------------------------------------------

def preload(etcd, n, up_port, tag):
    # etcd allows 128 operations per transaction by default.
    for start in range(0, n, 100):
        ops = []
        for i in range(start, min(n, start + 100)):
            k, v = route(f"{tag}{i}", up_port)
            ops.append({"requestPut": {"key": b64(k), "value": b64(v)}})
        etcd.call("/v3/kv/txn", {"success": ops})


def run_peer(make, etcd, up_port, results, quick):
    peer = make()
    name = peer.name
    res = results.setdefault(name, {})
    small, large, burst, huge = (20, 5000, 300, 10000) if not quick else (20, 500, 50, 1000)
    try:
        # (c) many routes present at start: time until every one is served.
        etcd.delete_prefix("/devnginx/")
        preload(etcd, huge, up_port, "pre")
        t0 = time.monotonic()
        peer.start()
        ok = all(wait_200(peer.http, f"pre{i}.ctest.localhost", 300) for i in (huge - 1, 0, huge // 2))
        res["startup_all_routes_s"] = round(time.monotonic() - t0, 3) if ok else None
        time.sleep(1)
        res["rss_kb_at_%d" % huge] = rss_kb(peer.pid())
        res["routes_at_start"] = huge
        peer.stop()

        for n in (small, large):
            etcd.delete_prefix("/devnginx/")
            preload(etcd, n, up_port, "base")
            peer = make()
            peer.start()
            if not wait_200(peer.http, f"base{n - 1}.ctest.localhost", 300):
                raise RuntimeError(f"{name}: preloaded routes not served; see {peer.logf}")
            lat, puts = [], []
            for i in range(20):
                host = f"new{n}x{i}"
                t0 = time.monotonic()
                etcd.put(*route(host, up_port))
                puts.append((time.monotonic() - t0) * 1000)
                if not wait_200(peer.http, f"{host}.ctest.localhost", 60):
                    raise RuntimeError(f"{name}: {host} never answered")
                lat.append((time.monotonic() - t0) * 1000)
                time.sleep(0.05)
            res[f"put_to_200_ms_median_with_{n}"] = round(statistics.median(lat), 2)
            res[f"put_to_200_ms_all_with_{n}"] = [round(x, 2) for x in lat]
            res[f"etcd_put_ms_median_with_{n}"] = round(statistics.median(puts), 2)
            if n == small:
                # (b) burst on top of the small table.
                time.sleep(2)  # let coalesced/queued reloads settle
                before = count_reloads(peer.error_log())
                t0 = time.monotonic()
                for i in range(burst):
                    etcd.put(*route(f"burst{i}", up_port))
                pending = set(range(burst))
                deadline = t0 + 300
                while pending and time.monotonic() < deadline:
                    for i in list(pending):
                        if status(peer.http, f"burst{i}.ctest.localhost") == 200:
                            pending.discard(i)
                        else:
                            break
                res[f"burst_{burst}_all_200_s"] = round(time.monotonic() - t0, 3) if not pending else None
                time.sleep(3)
                res[f"burst_{burst}_reloads"] = count_reloads(peer.error_log()) - before
            peer.stop()
    finally:
        peer.stop()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--berth", required=True)
    ap.add_argument("--confd", default="")
    ap.add_argument("--out", default="bench-router.json")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--peers", default="berth-lua,berth-classic,confd")
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="berth-router-bench-")
    srv = http.server.ThreadingHTTPServer((LOOP, 0), Upstream)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    up_port = srv.server_address[1]
    etcd = Etcd(tmp)
    results = {}
    try:
        peers = a.peers.split(",")
        for p in peers:
            print(f"== {p}", flush=True)
            try:
                if p == "berth-lua":
                    run_peer(lambda: BerthRouter(a.berth, "lua", etcd, tmp), etcd, up_port, results, a.quick)
                elif p == "berth-classic":
                    run_peer(lambda: BerthRouter(a.berth, "classic", etcd, tmp), etcd, up_port, results, a.quick)
                elif p == "confd" and a.confd:
                    run_peer(lambda: Confd(a.confd, etcd, tmp), etcd, up_port, results, a.quick)
                elif p == "berth-confd":
                    run_peer(lambda: Confd(a.berth, etcd, tmp, "berth-confd"), etcd, up_port, results, a.quick)
            except Exception as e:  # record and go on with the next peer
                results.setdefault(p, {})["error"] = str(e)
            print(json.dumps(results.get(p, {}), indent=1), flush=True)
    finally:
        etcd.stop()
        srv.shutdown()
    with open(a.out, "w") as f:
        json.dump(results, f, indent=1)
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
