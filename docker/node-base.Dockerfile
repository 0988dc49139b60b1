# Node.js 20 on the debootstrap Debian base, for machines without a registry
# (the build machines): tests/containers/smoke builds it from a context holding
# the machine's own node binary and npm, laid out as in the official
# node:20-bookworm-slim image (/usr/local/bin/node, /usr/local/lib/node_modules/npm).
# With a registry, use node:20-bookworm-slim itself.
ARG BASE_IMAGE=localhost/roam-debian:bookworm
FROM ${BASE_IMAGE}
COPY node /usr/local/bin/node
COPY npm /usr/local/lib/node_modules/npm
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
    && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \
    && node --version && npm --version
CMD ["node"]
