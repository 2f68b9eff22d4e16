# regguard container image. Not built or run in this project's CI (the machines have no Docker
# engine), so it is kept deliberately plain: build with `docker build -t regguard .`, run with
# `docker run -v /etc/regguard:/etc/regguard -v regguard-data:/app/data -p 8090:8090 regguard`.
# Node 24 LTS (regguard supports 22, 24 and 26: engines ">=22")
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
# inside a container the listeners must bind all interfaces; publish only the proxy port
ENV REGGUARD_SERVER_HOST=0.0.0.0
EXPOSE 8090
# the command (package.json's bin): tsc's output of src/cli.ts
ENTRYPOINT ["node", "/app/dist/src/cli.js"]
CMD ["serve", "--config", "/etc/regguard/regguard.yaml"]
