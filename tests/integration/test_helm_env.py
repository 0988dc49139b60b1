"""The Helm chart's configuration really starts Roam.

There is no cluster here, so this test renders the chart with `helm template`
and runs the built daemons on this machine. Each daemon gets exactly the
environment its Deployment would get: the ConfigMap, the Secret's generated
values (database and Redis passwords, internal secret, the P-256 signing key
made by Helm's genPrivateKey, the admin password), `$(VAR)` expansion, and
every ROAM_*_URL. Only the host names and ports of the cluster's Services are
mapped to the harness's loopback servers.

The tests check that:
- the migrations Job's commands migrate every schema;
- every daemon gets ready;
- a traveller can register and sign in through the gateway (tokens signed with
  the chart's key and verified through auth's JWKS);
- the admin from the Secret can sign in;
- Redis really required the chart's password.

Skipped when helm is missing (deploy/dev/install-deps fetches it into
.roam/tools/).
"""

import base64
import glob
import json
import os
import re
import subprocess
import time
import unittest

from roamtest import REPO, SYSTEM_PYTHON, StackTestCase, http

API = "/api/v1"
START_ORDER = ("auth", "inventory", "booking", "payment", "review", "notification", "gateway")


def find_helm():
    if os.environ.get("ROAM_HELM"):
        return os.environ["ROAM_HELM"]
    found = sorted(glob.glob(str(REPO / ".roam" / "tools" / "helm-*" / "helm")))
    return found[-1] if found else None


def render(helm, *sets):
    """helm template with --set pairs; returns the objects (YAML turned into JSON by PyYAML)."""
    argv = [helm, "template", "roam", str(REPO / "helm"), "--namespace", "travel-app"]
    for s in sets:
        argv += ["--set", s]
    yaml_text = subprocess.run(argv, check=True, capture_output=True, text=True).stdout
    conv = subprocess.run([SYSTEM_PYTHON, "-c", "import json, sys, yaml; "
                           "json.dump([d for d in yaml.safe_load_all(sys.stdin) if d], sys.stdout)"],
                          input=yaml_text, check=True, capture_output=True, text=True)
    return json.loads(conv.stdout)


def expand(value, env):
    """Kubernetes' $(VAR) expansion from entries defined earlier."""
    return re.sub(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)", lambda m: env.get(m.group(1), m.group(0)), value)


def container_env(container, configmaps, secrets):
    """The environment Kubernetes would give a container, in order."""
    env = {}
    for src in container.get("envFrom") or []:
        env.update(configmaps[src["configMapRef"]["name"]])
    for e in container.get("env") or []:
        if "value" in e:
            env[e["name"]] = expand(e["value"], env)
        else:
            ref = e["valueFrom"]["secretKeyRef"]
            env[e["name"]] = secrets[ref["name"]][ref["key"]]
    return env


@unittest.skipUnless(find_helm(), "no helm: run deploy/dev/install-deps")
class HelmEnvTest(StackTestCase):
    @classmethod
    def setUpStack(cls, st):
        objs = render(find_helm(), "admin.email=admin@roam.example", "redis.auth=true")
        cls.configmaps = {o["metadata"]["name"]: o["data"] for o in objs if o["kind"] == "ConfigMap"}
        cls.secrets = {o["metadata"]["name"]: {k: base64.b64decode(v).decode() for k, v in o["data"].items()}
                       for o in objs if o["kind"] == "Secret"}
        cls.secret = cls.secrets["roam-secrets"]
        deployments = {o["metadata"]["labels"]["app.kubernetes.io/component"]: o
                       for o in objs if o["kind"] == "Deployment"}
        cls.job = next(o for o in objs if o["kind"] == "Job" and o["metadata"]["name"] == "roam-migrations")
        services = {o["metadata"]["name"]: o["spec"]["ports"][0]["port"] for o in objs if o["kind"] == "Service"}

        # The servers, with the chart's database user and Redis password.
        st.start_postgres()
        st.psql("CREATE ROLE roam LOGIN PASSWORD '%s'" % cls.secret["database-password"], db="postgres")
        st.psql("ALTER DATABASE roam OWNER TO roam", db="postgres")
        st.start_redis()
        subprocess.run(["redis-cli", "-p", str(st.redis_port), "CONFIG", "SET", "requirepass",
                        cls.secret["redis-password"]], check=True, capture_output=True)
        st.start_broker()
        st.start_smtp()
        key_file = st.tmp / "chart-signing-key.pem"
        key_file.write_text(cls.secrets["roam-secrets"]["jwt-signing-key.pem"])

        # Cluster addresses -> loopback servers; daemons are added as they start.
        cls.addresses = {
            f"roam-postgresql:{services['roam-postgresql']}": f"127.0.0.1:{st.pg_port}",
            f"roam-redis:{services['roam-redis']}": f"127.0.0.1:{st.redis_port}",
            f"roam-kafka:{services['roam-kafka']}": st.kafka_brokers,
        }

        def localise(env):
            out = {}
            for k, v in env.items():
                for cluster, local in cls.addresses.items():
                    v = v.replace(cluster, local)
                out[k] = v
            # The harness chooses the port and binds loopback; the key is a file here.
            for k in ("ROAM_HTTP_PORT", "ROAM_HTTP_ADDR"):
                out.pop(k, None)
            if "ROAM_JWT_PRIVATE_KEY_FILE" in out:
                out["ROAM_JWT_PRIVATE_KEY_FILE"] = str(key_file)
            if "ROAM_SMTP_URL" in out:
                out["ROAM_SMTP_URL"] = st.smtp_url
            return out

        # What the pre-upgrade hook runs, before any daemon.
        cls.migrations = {}
        for c in cls.job["spec"]["template"]["spec"]["containers"]:
            env = {k: v for k, v in os.environ.items() if not k.startswith("ROAM_")}
            env.update(localise(container_env(c, cls.configmaps, cls.secrets)))
            argv = [str(st.binary(c["command"][0].removeprefix("roam-")))] + c["command"][1:] + c.get("args", [])
            cls.migrations[c["name"]] = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60)

        cls.envs = {}
        for name in START_ORDER:
            c = deployments[name]["spec"]["template"]["spec"]["containers"][0]
            env = localise(container_env(c, cls.configmaps, cls.secrets))
            cls.envs[name] = env
            d = st.start_daemon(name, env=env, timeout=30)
            cls.addresses[f"roam-{name}:{services[f'roam-{name}']}"] = d.url.removeprefix("http://")
        cls.gw = st.daemon("gateway")

    def api(self, method, path, body=None, headers=None):
        return http(method, self.gw.url + API + path, body=body, headers=headers)

    def test_migrations_job_migrates_every_schema(self):
        self.assertEqual(set(self.migrations), {"auth", "inventory", "booking", "payment", "review", "notification"})
        for name, res in self.migrations.items():
            self.assertEqual(res.returncode, 0, f"roam-{name} --migrate: {res.stdout}{res.stderr}")
        schemas = {r[0] for r in self.stack.psql(
            "SELECT nspname FROM pg_namespace WHERE nspowner = (SELECT oid FROM pg_roles WHERE rolname = 'roam')")}
        self.assertTrue(set(self.migrations) <= schemas, schemas)

    def test_every_daemon_is_ready_with_the_charts_settings(self):
        for name in START_ORDER:
            r = http("GET", self.stack.daemon(name).url + "/readyz")
            self.assertEqual(r.status, 200, f"{name}: {r.text}")
        # The URLs really came from the chart, not from the harness's defaults.
        self.assertIn(f":{self.secret['redis-password']}@", self.envs["gateway"]["ROAM_REDIS_URL"])
        self.assertTrue(self.envs["booking"]["ROAM_DATABASE_URL"].startswith(
            f"postgresql://roam:{self.secret['database-password']}@"))
        self.assertEqual(self.envs["payment"]["ROAM_INTERNAL_SECRET"], self.secret["internal-secret"])

    def test_register_and_sign_in_through_the_gateway(self):
        email = f"helm{time.monotonic_ns()}@example.com"
        r = self.api("POST", "/auth/register", {"email": email, "password": "correct horse battery",
                                                 "name": "Helm Test", "role": "traveller"})
        self.assertEqual(r.status, 201, r)
        token = r.json()["access_token"]
        me = self.api("GET", "/auth/me", headers={"Authorization": f"Bearer {token}"})
        self.assertEqual(me.status, 200, me)
        self.assertEqual(me.json()["email"], email)
        # A service other than auth checks the token too (JWKS fetched from ROAM_AUTH_URL).
        trips = self.api("GET", "/bookings", headers={"Authorization": f"Bearer {token}"})
        self.assertEqual(trips.status, 200, trips)

    def test_admin_from_the_secret_signs_in(self):
        r = self.api("POST", "/auth/login", {"email": "admin@roam.example",
                                              "password": self.secret["admin-password"]})
        self.assertEqual(r.status, 200, r)
        wrong = self.api("POST", "/auth/login", {"email": "admin@roam.example", "password": "not-the-password"})
        self.assertEqual(wrong.status, 401, wrong)

    def test_redis_requires_the_charts_password(self):
        res = subprocess.run(["redis-cli", "-p", str(self.stack.redis_port), "ping"], capture_output=True, text=True)
        self.assertIn("NOAUTH", res.stdout + res.stderr)


if __name__ == "__main__":
    unittest.main()
