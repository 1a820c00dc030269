# Headless server image. Data in /data; set GROK2API_ADMIN_PASSWORD and GROK2API_API_KEY (without
# an API key the first start generates one and prints it: the container listens beyond loopback).
FROM node:22-slim
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY bin ./bin
COPY src/server ./src/server
COPY src/shared ./src/shared
# Runs as the image's unprivileged "node" user (uid 1000), which owns only /data.
RUN mkdir -p /data && chown node:node /data
ENV HOST=0.0.0.0 PORT=8000 GROK2API_DATA_DIR=/data NODE_ENV=production
VOLUME /data
EXPOSE 8000
USER node
CMD ["node", "bin/grok2api.mjs", "serve"]
