# syntax=docker/dockerfile:1
# The autok8s worker. The same steps as the README's set-up: install the npm packages from
# the lockfile and run; there is no build step, bin/autok8s.js runs the TypeScript through
# tsx. Plus talosctl, which the Talos activities run by path.
#
#   docker build -t autok8s .                                  # talosctl v1.10.0, amd64
#   docker build --build-arg TALOS_VERSION=v1.9.5 -t autok8s .  # match spec.talos.version
#
# docker-compose.yml builds and runs it (env, secrets, specs, state volume).
ARG NODE_VERSION=20

FROM node:${NODE_VERSION}-bookworm-slim

# talosctl should match the Talos version the clusters run (spec.talos.version).
ARG TALOS_VERSION=v1.10.0
# Set by BuildKit from --platform (amd64 or arm64); the default serves the legacy builder.
ARG TARGETARCH=amd64

# ca-certificates: TLS to the OVH API and to Proxmox. curl only fetches talosctl, whose
# checksum is checked against the release's sha256sum.txt, then leaves the image.
RUN set -eu; \
    apt-get update; \
    apt-get install -y --no-install-recommends ca-certificates curl; \
    file="talosctl-linux-${TARGETARCH}"; \
    base="https://github.com/siderolabs/talos/releases/download/${TALOS_VERSION}"; \
    cd /tmp; \
    curl -fsSLo "$file" "$base/$file"; \
    expected="$(curl -fsSL "$base/sha256sum.txt" | awk -v f="$file" '$2 == f || $2 ~ ("/" f "$") { print $1 }')"; \
    echo "$expected  $file" | sha256sum -c -; \
    install -m 0755 "$file" /usr/local/bin/talosctl; \
    rm -f "$file"; \
    apt-get purge -y curl; \
    apt-get autoremove -y; \
    rm -rf /var/lib/apt/lists/*; \
    talosctl version --client --short

WORKDIR /app

# Dependencies first, so a source change does not reinstall them. `npm ci` is the README's
# `npm install` pinned to package-lock.json; dev dependencies (vitest, typescript) are not
# needed to run. Lifecycle scripts wait for the sources (the `prepare` bundle below needs them).
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-fund --no-audit && npm cache clean --force

# Sources stay owned by root: the worker can read its code, not change it.
COPY . .
# What `npm install` runs as `prepare`: the CLI bundle (fast start for notify_master), then
# the sandbox's talosctl forwarder, which needs Go: the image has none and runs the real
# talosctl, so that second step says so in one line and builds nothing.
RUN node scripts/build-cli.js && node scripts/build-talosctl-forwarder.js

# The worker's build ID (worker/deployment.ts): the image has no .git to read the commit
# from, so the build passes it, e.g. --build-arg AUTOK8S_BUILD_ID="0.1.0+$(git rev-parse --short HEAD)".
# Declared after the install and bundle steps, so a new build ID does not redo them.
# Unset: the package version alone, and the worker warns.
ARG AUTOK8S_BUILD_ID=

# The state store (Talos secrets, machine configs, kubeconfigs): a volume in
# docker-compose.yml. Created here so a fresh named volume inherits owner and mode.
RUN mkdir -p /var/lib/autok8s && chown node:node /var/lib/autok8s && chmod 0700 /var/lib/autok8s

ENV NODE_ENV=production \
    AUTOK8S_HOME=/var/lib/autok8s \
    TALOSCTL=/usr/local/bin/talosctl \
    TEMPORAL_ADDRESS=temporal:7233 \
    TEMPORAL_NAMESPACE=default \
    AUTOK8S_TASK_QUEUE=autok8s \
    AUTOK8S_BUILD_ID=${AUTOK8S_BUILD_ID}

# The node image's unprivileged user (uid 1000).
USER node

# Runs until SIGTERM/SIGINT; the SDK then shuts the worker down gracefully.
CMD ["node", "bin/autok8s.js", "worker"]
