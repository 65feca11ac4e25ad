# One image for both roles: `npm run api` or `npm run worker` (see docker-compose.yml).
FROM node:20-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY scripts ./scripts
COPY src ./src
ENV NODE_ENV=production
EXPOSE 3000
CMD ["npm", "run", "api"]
