# The dashboard, the REST API and the scheduler in one image: `docker compose up` (docker-compose.yml) runs it with
# PostgreSQL 16. Runtime packages only, pinned by constraints.txt; runs as a non-root user; data under /data.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# libgomp1: the OpenMP runtime LightGBM and XGBoost load
RUN apt-get update \
    && apt-get install -y --no-install-recommends libgomp1 \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY requirements.txt constraints.txt ./
RUN pip install -r requirements.txt -c constraints.txt

# The code stays owned by root (read-only for the app); only /data is writable
RUN useradd --create-home --uid 10001 --user-group sales \
    && mkdir -p /data \
    && chown sales:sales /data
COPY . .

ENV SALES_HOST=0.0.0.0 \
    SALES_PORT=8050 \
    SALES_DB=/data/sales.db \
    SALES_CACHE_DIR=/data/cache \
    SALES_MODELS_DIR=/data/models \
    SALES_WORKERS=2

USER sales
VOLUME ["/data"]
EXPOSE 8050

HEALTHCHECK --interval=30s --timeout=5s --start-period=90s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('SALES_PORT', '8050') + '/api/v1/health', timeout=5)"]

CMD ["python", "cli.py", "serve", "--prod"]
