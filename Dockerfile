# regguard container image. Not built or run in this project's CI (the machines have no Docker
# engine), so it is kept deliberately plain. Build and run:
#   docker build -t regguard .
#   docker run -d --name regguard \
#     -v /etc/regguard:/etc/regguard:ro -v regguard-data:/app/data \
#     -e REGGUARD_HOMESERVER_URL=http://synapse:8008 \
#     -e REGGUARD_ADMIN_TOKEN="$(openssl rand -hex 32)" \
#     -p 8090:8090 regguard
# REGGUARD_HOMESERVER_URL is needed: the default, http://127.0.0.1:8008, is this container itself.
# Only the gate's port is published. The admin listener (health, ready, metrics, console, the
# threepid_check backend) binds 0.0.0.0:8091 inside the container, so other containers on its
# network reach it; give it REGGUARD_ADMIN_TOKEN (and REGGUARD_ADMIN_THREEPID_CHECK_TOKEN for
# Synapse's threepid_checker module, which asks it by a name that is not its own address).
# Node 24 LTS (regguard needs 22 or later: engines ">=22")
FROM node:24-slim AS build
WORKDIR /app
# better-sqlite3 13 carries its prebuilt binaries in the package: no compiler needed
COPY package.json package-lock.json tsconfig.json ./
COPY src ./src
COPY scripts ./scripts
COPY console ./console
RUN npm ci && npm prune --omit=dev

FROM node:24-slim
WORKDIR /app
ENV NODE_ENV=production
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist/src ./dist/src
COPY --from=build /app/dist/console ./dist/console
COPY package.json ./
COPY config ./config
RUN mkdir -p /app/data && chown node:node /app/data
USER node
# inside a container the listeners bind all interfaces: the network namespace is the boundary,
# and `docker run -p` decides what is published (only 8090 in the line above)
# (environment variables win over the file: change these with -e, not in regguard.yaml). The
# SQLite store's default, ./data/regguard.sqlite, is the /app/data volume.
ENV REGGUARD_SERVER_HOST=0.0.0.0 \
    REGGUARD_ADMIN_HOST=0.0.0.0
EXPOSE 8090 8091
# /health answers once the process serves (node has fetch; the slim image has no curl); it
# assumes admin.port 8091
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:8091/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# the command (package.json's bin): tsc's output of src/cli.ts
ENTRYPOINT ["node", "/app/dist/src/cli.js"]
CMD ["serve", "--config", "/etc/regguard/regguard.yaml"]
