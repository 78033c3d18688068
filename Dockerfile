# The gateway image. The same image runs the simulators (`gateway simulate ...`) for compose.
FROM python:3.12-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY gateway ./gateway
RUN pip install --no-cache-dir . && useradd --create-home gateway
USER gateway
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz')"
CMD ["gateway", "serve", "--host", "0.0.0.0", "--port", "8000"]
