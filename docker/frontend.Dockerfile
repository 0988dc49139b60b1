# roam/frontend: the Next.js web app as its standalone server (node server.js).
# It reads ROAM_GATEWAY_URL when it runs, so one image runs anywhere.
#
#   podman build -f docker/frontend.Dockerfile -t roam/frontend:0.1.0 .
#
# NODE_IMAGE is Node.js 20 on Debian 12; without a registry,
# tests/containers/smoke makes one from the debootstrap base and the build
# machine's own Node 20 (docker/node-base.Dockerfile).
ARG NODE_IMAGE=docker.io/library/node:20-bookworm-slim

# --- build: npm ci, next build (standalone output) ---------------------------
FROM ${NODE_IMAGE} AS build
ENV NEXT_TELEMETRY_DISABLED=1
WORKDIR /app
# One COPY and one RUN (frontend.Dockerfile.dockerignore keeps node_modules and
# .next out): with podman's vfs storage every layer is a full copy. The npm
# mirror of the build machines lacks Next's macOS and Windows compiler
# packages, so npm ci may refuse the lockfile there; npm install --no-save
# then installs the same locked versions (as deploy/dev/install-deps does).
# Behind a TLS-inspecting proxy, give its CA bundle as the build secret
# "ca_bundle" (--secret id=ca_bundle,src=/etc/ssl/certs/ca-certificates.crt):
# npm trusts it for this step only, and it stays out of every layer.
COPY frontend/ ./
RUN --mount=type=secret,id=ca_bundle \
    if [ -s /run/secrets/ca_bundle ]; then export NODE_EXTRA_CA_CERTS=/run/secrets/ca_bundle; fi \
    && (npm ci --no-audit --no-fund || npm install --no-save --no-audit --no-fund) \
    && npm run build

# --- runtime: node and the standalone server, nothing else ---------------------
FROM ${NODE_IMAGE}
ENV NODE_ENV=production NEXT_TELEMETRY_DISABLED=1 PORT=3000 HOSTNAME=0.0.0.0 \
    ROAM_GATEWAY_URL=http://gateway:8080
RUN (getent group 10001 || groupadd --gid 10001 roam) \
    && (getent passwd 10001 || useradd --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin roam) \
    && rm -rf /usr/local/lib/node_modules/npm /usr/local/bin/npm /usr/local/bin/npx \
        /usr/local/lib/node_modules/corepack /usr/local/bin/corepack /opt/yarn-* /usr/local/bin/yarn*
WORKDIR /app
# Root-owned and not writable by the app's user: the server only reads it.
COPY --from=build /app/.next/standalone/ ./
USER 10001:10001
EXPOSE 3000
# /icon.svg is served by the app itself: a gateway outage must not make the
# web app's container unhealthy (the Helm chart's probes use it too).
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/icon.svg').then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
STOPSIGNAL SIGTERM
CMD ["node", "server.js"]
