# OSE Service Mesh server image.
# The web client is built from web/ by esbuild, and the GraphiQL and Swagger UI assets come
# from npm: nothing is loaded from a CDN at run time.
FROM node:20-slim AS web
WORKDIR /build
COPY web/package.json web/package-lock.json web/
COPY web/scripts web/scripts
COPY web/src web/src
COPY schema.graphql ./
RUN mkdir -p server/ose_mesh/api/web/static && cd web && npm ci && npm run build

FROM python:3.11-slim

WORKDIR /app
COPY pyproject.toml README.md ./
COPY server ./server
COPY --from=web /build/server/ose_mesh/api/web/static/vendor ./server/ose_mesh/api/web/static/vendor
COPY --from=web /build/server/ose_mesh/api/web/static/app ./server/ose_mesh/api/web/static/app
RUN pip install --no-cache-dir . \
    && useradd --system --home /app mesh \
    && mkdir -p /app/data && chown mesh /app/data
USER mesh

ENV SERVICE_MESH_PORT=8000
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --retries=3 \
  CMD python -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=2)" || exit 1
# Listening on all interfaces inside the container; publish the port only where you mean to.
# Protected mode: this refuses to start without OSE_MESH_WRITE_TOKENS (or a token file).
CMD ["ose-mesh", "serve", "--host", "0.0.0.0"]
