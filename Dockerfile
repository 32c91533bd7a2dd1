# SmartWorker image: API + workers. Redis and PostgreSQL come from docker-compose.yml.
FROM python:3.11-slim

# bubblewrap is the default sandbox for AI fixes; it needs user namespaces from the host runtime
# (run with --security-opt seccomp=unconfined or SANDBOX_BACKEND=docker on hosts that forbid them).
RUN apt-get update \
    && apt-get install -y --no-install-recommends bubblewrap \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY pyproject.toml README.md ./
COPY src ./src
RUN pip install --no-cache-dir .

# Bound to 0.0.0.0, `up` refuses to start until an API key exists: pass APP_API_KEY (an admin key) or
# create one with `smartworker keys create --role admin` against the same Redis.
ENV NODE_ENV=production \
    APP_HOST=0.0.0.0 \
    APP_PORT=9090 \
    APP_DATA_DIR=/data
VOLUME /data
EXPOSE 9090
USER nobody
CMD ["smartworker", "up"]
