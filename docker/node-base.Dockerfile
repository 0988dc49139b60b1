# Node.js 20 on the debootstrap Debian base, for machines without a registry
# (the build machines). tests/containers/smoke builds it from a context that
# holds the machine's own node binary and npm laid out as in the official
# node:20-bookworm-slim image (usr/local/bin/node, usr/local/lib/node_modules/npm
# and the npm/npx links), copied in one layer. With a registry, use
# node:20-bookworm-slim itself.
ARG BASE_IMAGE=localhost/roam-debian:bookworm
FROM ${BASE_IMAGE}
COPY usr/ /usr/
CMD ["node"]
