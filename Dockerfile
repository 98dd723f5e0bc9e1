# syntax=docker/dockerfile:1
#
# One image for every Flux process. It runs compiled JavaScript: `npm run build` bundles each
# app's TypeScript (esbuild) into dist/<app>/main.js in a build stage, and the runtime stage has
# only those bundles, the production node_modules and the files the bundles read beside their
# sources (the Redis Lua scripts, the dashboard). No TypeScript loader runs, nothing is written
# under /tmp, so the root filesystem can be read-only; the process runs as the `node` user.
#
#   docker build -t flux:0.1.0 .
#   docker run -p 3000:3000 -v flux-data:/data flux:0.1.0            # embedded server (default)
#
# The Helm chart (deploy/helm/flux) runs the distributed roles from the same image with
#   node --enable-source-maps dist/<reducer|ingest-gateway|query-gateway>/main.js
#
# Native modules (lmdb, msgpackr-extract; esbuild, Vite's rolldown and lightningcss in the build
# stage) come as prebuilt binaries for linux x64 and arm64 (glibc), which is why the base is
# Debian (bookworm) and not Alpine.

ARG NODE_IMAGE=node:20-bookworm-slim

# ---- manifests: every workspace's package.json, for npm ci ----
FROM ${NODE_IMAGE} AS manifests
WORKDIR /app
# Only the manifests, so the install layers are rebuilt when dependencies change, not on every
# edit. npm ci needs every workspace's package.json to link @flux/* into node_modules: a new
# workspace under apps/ or libs/ needs its line here.
COPY package.json package-lock.json ./
COPY apps/cli/package.json apps/cli/package.json
COPY apps/flux/package.json apps/flux/package.json
COPY apps/ingest-gateway/package.json apps/ingest-gateway/package.json
COPY apps/query-gateway/package.json apps/query-gateway/package.json
COPY apps/reducer/package.json apps/reducer/package.json
COPY libs/api/package.json libs/api/package.json
COPY libs/client/package.json libs/client/package.json
COPY libs/connectors/package.json libs/connectors/package.json
COPY libs/core/package.json libs/core/package.json
COPY libs/dashboard/package.json libs/dashboard/package.json
COPY libs/domain/package.json libs/domain/package.json
COPY libs/embedded/package.json libs/embedded/package.json
COPY libs/grpc/package.json libs/grpc/package.json
COPY libs/kafka/package.json libs/kafka/package.json
COPY libs/mcp/package.json libs/mcp/package.json
COPY libs/redis/package.json libs/redis/package.json

# ---- dependencies: production node_modules for the whole npm workspace ----
# (The root `prepare` script builds the dashboard only where its sources are: not here.) tsx and
# esbuild are dependencies of the `flux` CLI's TypeScript entry; the servers run compiled
# bundles, so the image leaves them out.
FROM manifests AS deps
RUN --mount=type=cache,target=/root/.npm \
    npm ci --omit=dev --no-audit --no-fund \
    && rm -rf node_modules/tsx node_modules/esbuild node_modules/@esbuild node_modules/.bin/tsx node_modules/.bin/esbuild

# ---- build: the dashboard (Vite) and the server bundles (esbuild), with the dev dependencies ----
FROM manifests AS build
RUN --mount=type=cache,target=/root/.npm \
    npm ci --no-audit --no-fund
COPY tsconfig.base.json ./
COPY scripts/build.mjs scripts/bundle-app.mjs ./scripts/
COPY libs ./libs
COPY apps ./apps
RUN npm run build

# ---- runtime ----
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000 \
    FLUX_DATA_DIR=/data
WORKDIR /app
# node_modules (with the relative @flux/* workspace symlinks) and the workspace manifests; the
# root package.json's "type": "module" makes dist/*.js ES modules.
COPY --from=deps /app ./
COPY --from=build /app/dist ./dist
# Files the bundles read at their source locations (see scripts/bundle-app.mjs).
COPY libs/redis/src/lua ./libs/redis/src/lua
COPY --from=build /app/libs/dashboard/dist ./libs/dashboard/dist
# The embedded server's data directory; the distributed roles keep no local state.
RUN mkdir -p /data && chown node:node /data
# The image's `node` user (uid/gid 1000).
USER node
EXPOSE 3000 50051
CMD ["node", "--enable-source-maps", "dist/flux/main.js"]
