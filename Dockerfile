# OSE Service Mesh server image.
FROM python:3.11-slim

WORKDIR /app
COPY pyproject.toml README.md ./
COPY server ./server
RUN pip install --no-cache-dir . \
    && useradd --system --home /app mesh \
    && mkdir -p /app/data && chown mesh /app/data
USER mesh

ENV SERVICE_MESH_PORT=8000
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --retries=3 \
  CMD python -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=2)" || exit 1
# Listening on all interfaces inside the container; publish the port only where you mean to.
CMD ["ose-mesh", "serve", "--host", "0.0.0.0"]
