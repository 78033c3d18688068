# The gateway image. The same image runs the simulators (`gateway simulate ...`) for compose.

# GraphiQL's assets, packed from the npm registry at build time, so the page needs no CDN.
FROM python:3.12-slim AS graphiql
RUN apt-get update && apt-get install -y --no-install-recommends npm && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml README.md ./
COPY gateway ./gateway
RUN pip install --no-cache-dir . && gateway fetch-graphiql --dir /graphiql

FROM python:3.12-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY gateway ./gateway
RUN pip install --no-cache-dir . && useradd --create-home gateway
COPY --from=graphiql /graphiql /app/graphiql
ENV GATEWAY_GRAPHIQL_DIR=/app/graphiql
USER gateway
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz')"
CMD ["gateway", "serve", "--host", "0.0.0.0", "--port", "8000"]
