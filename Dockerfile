# Berth as one container. Needs the Docker socket mounted to start user servers.
# Two stages: the sources are compiled (npm run build) where the dev dependencies are; the image runs
# dist/ with the runtime dependencies only — no TypeScript compiler in it.
FROM node:20-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY scripts/build.mjs ./scripts/
COPY src ./src
COPY handlers ./handlers
COPY db ./db
RUN node scripts/build.mjs

FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production BERTH_IP=0.0.0.0 BERTH_DATA_DIR=/data
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY bin ./bin
COPY --from=build /src/dist ./dist
VOLUME /data
EXPOSE 8000
ENTRYPOINT ["node", "bin/berth.mjs"]
CMD ["serve"]
