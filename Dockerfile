# Berth as one container. Needs the Docker socket mounted to start user servers.
FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production BERTH_IP=0.0.0.0 BERTH_DATA_DIR=/data
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY bin ./bin
COPY src ./src
COPY handlers ./handlers
COPY db ./db
COPY tsconfig.json ./
VOLUME /data
EXPOSE 8000
ENTRYPOINT ["node", "bin/berth.mjs"]
CMD ["serve"]
