# roam/daemons: the seven C daemons in one image; the container's command
# chooses the daemon (roam-gateway, roam-auth, ...). Why one image, the ports,
# the user and the environment: docs/containers.md.
#
#   podman build -f docker/daemons.Dockerfile -t roam/daemons:0.1.0 .
#
# BASE_IMAGE is Debian 12; without a registry, docker/base-image makes one with
# debootstrap (tests/containers/smoke passes it as --build-arg).
ARG BASE_IMAGE=docker.io/library/debian:bookworm-slim

# --- build: as the release preset (-O2, -Werror, no tests) -------------------
FROM ${BASE_IMAGE} AS build
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        gcc libc6-dev make cmake pkg-config python3 python3-yaml \
        libmicrohttpd-dev libpq-dev libhiredis-dev librdkafka-dev libjansson-dev \
        libjwt-dev libssl-dev libcurl4-openssl-dev libargon2-dev \
    && rm -rf /var/lib/apt/lists/*
# The context is only what the build reads (daemons.Dockerfile.dockerignore),
# copied in one layer: with podman's vfs storage every layer is a full copy.
COPY . /src
RUN cmake -S /src -B /tmp/build -DCMAKE_BUILD_TYPE=Release -DROAM_WERROR=ON -DROAM_TESTS=OFF >/dev/null \
    && cmake --build /tmp/build -j"$(nproc)" --target \
        roam-gateway roam-auth roam-inventory roam-booking roam-payment roam-review roam-notification \
    && mkdir -p /out \
    && cp /tmp/build/gateway/roam-gateway /tmp/build/services/*/roam-* /out/ \
    && rm -f /out/*.c \
    && strip --strip-unneeded /out/roam-* \
    && install -m 0755 /src/docker/roam-migrate /src/docker/roam-healthcheck /out/ \
    && rm -rf /tmp/build

# --- runtime: the shared libraries the daemons link, curl for HEALTHCHECK ----
FROM ${BASE_IMAGE}
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        libmicrohttpd12 libpq5 libhiredis0.14 librdkafka1 libjansson4 libjwt0 \
        libssl3 libcurl4 libargon2-1 ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/log/apt /var/log/dpkg.log \
    && groupadd --gid 10001 roam \
    && useradd --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin roam
COPY --from=build /out/ /usr/local/bin/
ENV ROAM_HTTP_ADDR=0.0.0.0
USER 10001:10001
EXPOSE 8080 8081 8082 8083 8084 8085 8086
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 CMD ["roam-healthcheck"]
STOPSIGNAL SIGTERM
CMD ["roam-gateway"]
