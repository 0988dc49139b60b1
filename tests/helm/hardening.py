#!/usr/bin/python3
"""Asserts the chart's hardening and wiring on rendered manifests.

    hardening.py [--self-test] FILE.json...

Each FILE is a JSON array of the objects `helm template` rendered (the check
script converts helm's YAML). For every workload (Deployment, StatefulSet,
Job) and every container in it:

- liveness and readiness probes (Jobs excepted); the daemons' on /healthz and
  /readyz, with Prometheus scrape annotations;
- CPU and memory requests and limits;
- runAsNonRoot, readOnlyRootFilesystem, allowPrivilegeEscalation false,
  capabilities drop ALL, seccomp RuntimeDefault; no service account token;
- every Deployment that runs more than one pod has a PodDisruptionBudget and
  an HPA; the gateway, auth and the web app run at least two;
- a deny-all NetworkPolicy exists, and the traffic the policies allow between
  the release's pods is exactly the set of edges the code makes (APP_EDGES,
  STORE_EDGES);
- every ROAM_*_URL names a Service of the release and one of its ports, every
  secretKeyRef a key the chart's Secret has; the migrations Job is a
  pre-upgrade hook running `roam-<name> --migrate` for each of the six
  services with a database.

--self-test also breaks a copy of the objects in each of those ways and
checks that every break is reported, so the checks themselves can fail.
Exit status 1 if anything is wrong.
"""
import copy
import json
import sys

WORKLOADS = ("Deployment", "StatefulSet", "Job")
DAEMONS = {"gateway", "auth", "inventory", "booking", "payment", "review", "notification"}
AT_LEAST_TWO = {"gateway", "auth", "frontend"}

# Who may open a connection to whom, derived from the code: ROAM_<NAME>_URL
# and roam_daemon_spec_t.upstreams (services/*/src/main.c, gateway/src/main.c),
# ROAM_NEED_DB/REDIS/KAFKA and the token verifier (every service with
# protected routes fetches auth's JWKS and checks the denylist in Redis).
# "ingress" is the ingress controller; PostgreSQL, Redis and Kafka appear
# only when the chart runs them.
APP_EDGES = {
    ("ingress", "frontend"), ("ingress", "gateway"),
    ("frontend", "gateway"),
    ("gateway", "auth"), ("gateway", "inventory"), ("gateway", "booking"),
    ("gateway", "payment"), ("gateway", "review"), ("gateway", "notification"),
    ("booking", "inventory"), ("booking", "auth"),
    ("payment", "booking"), ("payment", "auth"),
    ("review", "booking"), ("review", "auth"),
    ("notification", "auth"), ("inventory", "auth"),
}
STORE_EDGES = {
    "postgresql": {"auth", "inventory", "booking", "payment", "review", "notification", "migrations"},
    "redis": {"gateway", "auth", "inventory", "booking", "payment", "review", "notification"},
    "kafka": {"inventory", "booking", "payment", "review", "notification", "kafka", "kafka-topics"},
}


def component(labels):
    return (labels or {}).get("app.kubernetes.io/component")


def pod_template(obj):
    return obj["spec"]["template"]


def matches(selector, labels):
    """A LabelSelector (matchLabels only, which is all the chart uses) against labels."""
    if selector is None:
        return False
    want = selector.get("matchLabels") or {}
    if selector.get("matchExpressions"):
        raise ValueError("matchExpressions are not supported by this check")
    return all(labels.get(k) == v for k, v in want.items())


def check_container(where, c, pod_sc, is_job, comp):
    errors = []
    sc = c.get("securityContext") or {}

    def effective(key):
        return sc.get(key, pod_sc.get(key))

    if effective("runAsNonRoot") is not True:
        errors.append(f"{where}: runAsNonRoot is not true")
    if sc.get("readOnlyRootFilesystem") is not True:
        errors.append(f"{where}: readOnlyRootFilesystem is not true")
    if sc.get("allowPrivilegeEscalation") is not False:
        errors.append(f"{where}: allowPrivilegeEscalation is not false")
    if sc.get("privileged"):
        errors.append(f"{where}: privileged")
    if "ALL" not in ((sc.get("capabilities") or {}).get("drop") or []):
        errors.append(f"{where}: capabilities do not drop ALL")
    if ((sc.get("capabilities") or {}).get("add")):
        errors.append(f"{where}: capabilities added")
    if (effective("seccompProfile") or {}).get("type") != "RuntimeDefault":
        errors.append(f"{where}: seccompProfile is not RuntimeDefault")
    res = c.get("resources") or {}
    for kind in ("requests", "limits"):
        for r in ("cpu", "memory"):
            if not (res.get(kind) or {}).get(r):
                errors.append(f"{where}: no {r} {kind[:-1]}")
    if not is_job:
        for probe in ("livenessProbe", "readinessProbe"):
            if not c.get(probe):
                errors.append(f"{where}: no {probe}")
        if comp in DAEMONS:
            live = ((c.get("livenessProbe") or {}).get("httpGet") or {}).get("path")
            ready = ((c.get("readinessProbe") or {}).get("httpGet") or {}).get("path")
            if live != "/healthz":
                errors.append(f"{where}: liveness probe is {live!r}, not /healthz")
            if ready != "/readyz":
                errors.append(f"{where}: readiness probe is {ready!r}, not /readyz")
    return errors


def check_workloads(objs):
    errors = []
    for o in objs:
        if o["kind"] not in WORKLOADS:
            continue
        name = f'{o["kind"]}/{o["metadata"]["name"]}'
        tpl = pod_template(o)
        spec = tpl["spec"]
        comp = component(tpl["metadata"].get("labels"))
        pod_sc = spec.get("securityContext") or {}
        if spec.get("automountServiceAccountToken") is not False:
            errors.append(f"{name}: mounts a service account token")
        if spec.get("hostNetwork") or spec.get("hostPID") or spec.get("hostIPC"):
            errors.append(f"{name}: shares a host namespace")
        containers = spec.get("containers") or []
        if not containers:
            errors.append(f"{name}: no containers")
        for c in containers + (spec.get("initContainers") or []):
            errors += check_container(f'{name} container {c["name"]}', c, pod_sc, o["kind"] == "Job", comp)
        if comp in DAEMONS and o["kind"] == "Deployment":
            ann = tpl["metadata"].get("annotations") or {}
            port = str(containers[0]["ports"][0]["containerPort"]) if containers and containers[0].get("ports") else None
            if ann.get("prometheus.io/scrape") != "true" or ann.get("prometheus.io/path") != "/metrics" \
                    or ann.get("prometheus.io/port") != port:
                errors.append(f"{name}: no Prometheus scrape annotations for /metrics on its port")
    return errors


def check_replicas(objs):
    errors = []
    hpas = [o for o in objs if o["kind"] == "HorizontalPodAutoscaler"]
    pdbs = [o for o in objs if o["kind"] == "PodDisruptionBudget"]
    for o in objs:
        if o["kind"] != "Deployment":
            continue
        name = o["metadata"]["name"]
        labels = pod_template(o)["metadata"].get("labels") or {}
        hpa = [h for h in hpas if h["spec"]["scaleTargetRef"]["kind"] == "Deployment"
               and h["spec"]["scaleTargetRef"]["name"] == name]
        replicas = o["spec"].get("replicas")
        if replicas is None:
            # No replicas: the HPA owns the count (else Kubernetes runs one).
            replicas = hpa[0]["spec"].get("minReplicas", 1) if hpa else 1
        comp = component(labels)
        if comp in AT_LEAST_TWO and replicas < 2:
            errors.append(f"Deployment/{name}: {comp} runs {replicas} pod(s), needs at least 2")
        if replicas > 1:
            if not hpa:
                errors.append(f"Deployment/{name}: {replicas} replicas but no HorizontalPodAutoscaler")
            if not any(matches(p["spec"].get("selector"), labels) for p in pdbs):
                errors.append(f"Deployment/{name}: {replicas} replicas but no PodDisruptionBudget")
    return errors


def pods(objs):
    """component -> (pod labels, container ports {number}) for every workload."""
    out = {}
    for o in objs:
        if o["kind"] in WORKLOADS:
            tpl = pod_template(o)
            labels = tpl["metadata"].get("labels") or {}
            ports = {p["containerPort"] for c in tpl["spec"]["containers"] for p in c.get("ports") or []}
            out[component(labels)] = (labels, ports)
    return out


def peer_matches(peer, labels, is_ingress_controller):
    """A NetworkPolicyPeer against a pod of the release or the ingress controller."""
    if "ipBlock" in peer:
        return False
    if is_ingress_controller:
        return "namespaceSelector" in peer and matches(peer.get("podSelector"), {"app.kubernetes.io/name": "ingress-nginx"})
    if "namespaceSelector" in peer:
        return False
    return matches(peer.get("podSelector"), labels)


def port_ok(rule, port):
    ports = rule.get("ports")
    return not ports or any(p.get("port") == port for p in ports)


def allowed(policies, src, dst, pod_info):
    """Whether some rule lets src open a connection to one of dst's ports."""
    dst_labels, dst_ports = pod_info[dst]
    src_labels = pod_info[src][0] if src != "ingress" else {}
    for port in dst_ports:
        ingress_ok = any(
            any(port_ok(r, port) and any(peer_matches(p, src_labels, src == "ingress") for p in r.get("from") or [])
                for r in np["spec"].get("ingress") or [])
            for np in policies if matches(np["spec"]["podSelector"], dst_labels) and np["spec"]["podSelector"])
        if src == "ingress":
            egress_ok = True
        else:
            egress_ok = any(
                any(port_ok(r, port) and any(peer_matches(p, dst_labels, False) for p in r.get("to") or [])
                    for r in np["spec"].get("egress") or [])
                for np in policies if matches(np["spec"]["podSelector"], src_labels) and np["spec"]["podSelector"])
        if ingress_ok and egress_ok:
            return True
    return False


def check_network(objs):
    errors = []
    policies = [o for o in objs if o["kind"] == "NetworkPolicy"]
    deny = [p for p in policies if p["spec"]["podSelector"] == {}
            and set(p["spec"].get("policyTypes") or []) == {"Ingress", "Egress"}
            and not p["spec"].get("ingress") and not p["spec"].get("egress")]
    if not deny:
        errors.append("no deny-all NetworkPolicy (podSelector {}, Ingress and Egress, no rules)")
    info = pods(objs)
    expected = {e for e in APP_EDGES if e[1] in info and (e[0] == "ingress" or e[0] in info)}
    for store, clients in STORE_EDGES.items():
        if store in info:
            expected |= {(c, store) for c in clients if c in info}
    actual = set()
    for src in list(info) + ["ingress"]:
        for dst in info:
            if src != dst or src == "kafka":
                if allowed(policies, src, dst, info):
                    actual.add((src, dst))
    for e in sorted(expected - actual):
        errors.append(f"NetworkPolicy: {e[0]} cannot reach {e[1]}, which the code needs")
    for e in sorted(actual - expected):
        errors.append(f"NetworkPolicy: {e[0]} may reach {e[1]}, which the code never calls")
    # DNS for every pod of the release.
    dns = [p for p in policies if any(
        any(pt.get("port") == 53 for pt in r.get("ports") or []) for r in p["spec"].get("egress") or [])]
    for comp, (labels, _) in info.items():
        if not any(matches(p["spec"]["podSelector"], labels) for p in dns):
            errors.append(f"NetworkPolicy: {comp} may not ask DNS")
    return errors


DB_SERVICES = {"auth", "inventory", "booking", "payment", "review", "notification"}


def check_wiring(objs):
    """URLs point at Services that exist, secrets at keys that exist, migrations run as hooks."""
    errors = []
    services = {o["metadata"]["name"]: {p["port"] for p in o["spec"]["ports"]}
                for o in objs if o["kind"] == "Service"}
    secrets = {o["metadata"]["name"]: set(o.get("data") or {}) | set(o.get("stringData") or {})
               for o in objs if o["kind"] == "Secret"}
    for o in objs:
        if o["kind"] not in WORKLOADS:
            continue
        for c in pod_template(o)["spec"]["containers"]:
            where = f'{o["kind"]}/{o["metadata"]["name"]} container {c["name"]}'
            for e in c.get("env") or []:
                ref = (e.get("valueFrom") or {}).get("secretKeyRef")
                if ref and ref["name"] in secrets and ref["key"] not in secrets[ref["name"]]:
                    errors.append(f"{where}: {e['name']} reads key {ref['key']} that Secret {ref['name']} lacks")
                if ref and secrets and ref["name"] not in secrets:
                    errors.append(f"{where}: {e['name']} reads Secret {ref['name']}, which the chart does not make")
                value = e.get("value") or ""
                if e["name"].startswith("ROAM_") and e["name"].endswith("_URL") and "://" in value:
                    host_port = value.split("://", 1)[1].split("@")[-1].split("/")[0]
                    host, _, port = host_port.partition(":")
                    if "." in host:
                        continue  # an external server, outside the release
                    if host not in services:
                        errors.append(f"{where}: {e['name']} points at {host}, which is not a Service")
                    elif not port or int(port) not in services[host]:
                        errors.append(f"{where}: {e['name']} uses port {port or '(none)'}, not one of {host}'s")
    jobs = [o for o in objs if o["kind"] == "Job" and component(o["metadata"].get("labels")) == "migrations"]
    if len(jobs) != 1:
        errors.append(f"{len(jobs)} migrations Jobs, expected 1")
    for job in jobs:
        hooks = (job["metadata"].get("annotations") or {}).get("helm.sh/hook", "").split(",")
        if "pre-upgrade" not in hooks:
            errors.append("the migrations Job is not a pre-upgrade hook")
        if "pre-install" not in hooks and "post-install" not in hooks:
            errors.append("the migrations Job does not run on install")
        ran = set()
        for c in pod_template(job)["spec"]["containers"]:
            argv = (c.get("command") or []) + (c.get("args") or [])
            if argv[-1:] != ["--migrate"] or argv[:1] != [f"roam-{c['name']}"]:
                errors.append(f"the migrations Job's {c['name']} container runs {argv}, not roam-{c['name']} --migrate")
            if not any(e["name"] == "ROAM_DATABASE_URL" for e in c.get("env") or []):
                errors.append(f"the migrations Job's {c['name']} container has no ROAM_DATABASE_URL")
            ran.add(c["name"])
        if ran != DB_SERVICES:
            errors.append(f"the migrations Job migrates {sorted(ran)}, not {sorted(DB_SERVICES)}")
    return errors


def check(objs):
    return check_workloads(objs) + check_replicas(objs) + check_network(objs) + check_wiring(objs)


def first(objs, kind, comp=None):
    for o in objs:
        if o["kind"] == kind and (comp is None or component(o["metadata"].get("labels")) == comp):
            return o
    raise LookupError(f"no {kind} {comp or ''} to break")


def self_test(objs):
    """Each break must be reported; returns those that were not, and how many were tried."""
    def c0(o):
        return pod_template(o)["spec"]["containers"][0]

    breaks = {
        "no liveness probe": lambda o: c0(first(o, "Deployment", "booking")).pop("livenessProbe"),
        "no readiness probe": lambda o: c0(first(o, "StatefulSet")).pop("readinessProbe"),
        "readiness on /healthz": lambda o: c0(first(o, "Deployment", "payment"))["readinessProbe"]["httpGet"]
        .update(path="/healthz"),
        "no memory limit": lambda o: c0(first(o, "Deployment", "review"))["resources"]["limits"].pop("memory"),
        "no cpu request": lambda o: c0(first(o, "Job"))["resources"]["requests"].pop("cpu"),
        "writable root": lambda o: c0(first(o, "Deployment", "auth"))["securityContext"]
        .update(readOnlyRootFilesystem=False),
        "root allowed": lambda o: (c0(first(o, "Deployment", "gateway"))["securityContext"].pop("runAsNonRoot"),
                                   pod_template(first(o, "Deployment", "gateway"))["spec"]["securityContext"]
                                   .pop("runAsNonRoot")),
        "capabilities kept": lambda o: c0(first(o, "StatefulSet"))["securityContext"]["capabilities"]
        .update(drop=[]),
        "unconfined seccomp": lambda o: (c0(first(o, "Deployment", "frontend"))["securityContext"]
                                         .update(seccompProfile={"type": "Unconfined"})),
        "no PDB": lambda o: o.remove(first(o, "PodDisruptionBudget")),
        "no HPA": lambda o: o.remove(first(o, "HorizontalPodAutoscaler")),
        "auth alone": lambda o: (o.remove(first(o, "HorizontalPodAutoscaler", "auth")),
                                 first(o, "Deployment", "auth")["spec"].update(replicas=1)),
        "no deny-all": lambda o: o.remove(next(p for p in o if p["kind"] == "NetworkPolicy"
                                               and p["spec"]["podSelector"] == {})),
        "edge missing": lambda o: first(o, "NetworkPolicy", "booking")["spec"]["egress"].pop(0),
        "edge too many": lambda o: first(o, "NetworkPolicy", "frontend")["spec"]["egress"].append(
            {"to": [{"podSelector": {"matchLabels": {"app.kubernetes.io/component": "auth"}}}]}) or
        first(o, "NetworkPolicy", "auth")["spec"]["ingress"].append(
            {"from": [{"podSelector": {"matchLabels": {"app.kubernetes.io/component": "frontend"}}}]}),
        "token mounted": lambda o: pod_template(first(o, "Deployment", "notification"))["spec"]
        .update(automountServiceAccountToken=True),
        "no scrape annotations": lambda o: pod_template(first(o, "Deployment", "inventory"))["metadata"]
        .update(annotations={}),
        "URL to a missing Service": lambda o: next(
            e for e in c0(first(o, "Deployment", "payment"))["env"] if e["name"] == "ROAM_BOOKING_URL")
        .update(value="http://roam-bookings:8083"),
        "URL on the wrong port": lambda o: next(
            e for e in c0(first(o, "Deployment", "gateway"))["env"] if e["name"] == "ROAM_AUTH_URL")
        .update(value="http://roam-auth:8080"),
        "missing Secret key": lambda o: first(o, "Secret")["data"].pop("internal-secret"),
        "migrations not pre-upgrade": lambda o: first(o, "Job", "migrations")["metadata"]["annotations"]
        .update({"helm.sh/hook": "post-install"}),
        "a service not migrated": lambda o: pod_template(first(o, "Job", "migrations"))["spec"]["containers"].pop(),
    }
    missed, applied = [], 0
    for what, brk in breaks.items():
        broken = copy.deepcopy(objs)
        try:
            brk(broken)
        except LookupError:
            continue  # nothing of that kind here (e.g. no StatefulSet with external servers)
        applied += 1
        if not check(broken):
            missed.append(what)
    return missed, applied


def main(argv):
    self_testing = "--self-test" in argv
    files = [a for a in argv if a != "--self-test"]
    failed = False
    for f in files:
        objs = json.load(open(f))
        errors = check(objs)
        for e in errors:
            print(f"{f}: {e}")
        failed |= bool(errors)
        workloads = sum(o["kind"] in WORKLOADS for o in objs)
        print(f"hardening: {f}: {workloads} workloads, {len(errors)} problems")
        if self_testing and not errors:
            missed, applied = self_test(objs)
            for m in missed:
                print(f"{f}: self-test: breaking it ({m}) went unnoticed")
            failed |= bool(missed)
            print(f"hardening: {f}: self-test {'FAILED' if missed else 'ok'}: {applied} breaks, {len(missed)} unnoticed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
