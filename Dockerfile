# Headless server image. Data in /data; set GROK2API_ADMIN_PASSWORD and GROK2API_API_KEY (without
# an API key the first start generates one and prints it: the container listens beyond loopback).

# Build stage: `npm ci` runs `prepare`, which compiles the server to dist/ and the manager to
# out/renderer/ (both need dev dependencies: esbuild, vite, react).
FROM node:22-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
COPY scripts ./scripts
COPY src ./src
RUN npm ci --no-audit --no-fund

# Runtime: production dependencies only, the compiled JavaScript, no TypeScript loader at start.
FROM node:22-slim
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund
COPY bin ./bin
COPY --from=build /app/dist ./dist
COPY --from=build /app/out/renderer ./out/renderer
# Runs as the image's unprivileged "node" user (uid 1000), which owns only /data.
RUN mkdir -p /data && chown node:node /data
ENV HOST=0.0.0.0 PORT=8000 GROK2API_DATA_DIR=/data NODE_ENV=production
VOLUME /data
EXPOSE 8000
USER node
CMD ["node", "bin/grok2api.mjs", "serve"]
