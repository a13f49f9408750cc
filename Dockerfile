FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
COPY requirements.txt .
RUN pip install -r requirements.txt
COPY . .
RUN DEBUG=false SECRET_KEY=collectstatic-only python manage.py collectstatic --noinput -v0
RUN useradd --system --uid 1000 parley && mkdir -p /app/media && chown parley /app/media
USER parley
EXPOSE 8000
# Production shape: several uvicorn workers on one port, sharing Redis and PostgreSQL
# (options: chatsite/serve.py; set TRUSTED_PROXIES to the proxy in front, if any).
CMD ["sh", "-c", "python manage.py migrate --noinput && exec python -m chatsite.serve --host 0.0.0.0 --port 8000 --workers ${WORKERS:-2}"]
