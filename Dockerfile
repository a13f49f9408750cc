FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
COPY requirements.txt .
RUN pip install -r requirements.txt
COPY . .
RUN DEBUG=false SECRET_KEY=collectstatic-only python manage.py collectstatic --noinput -v0
# The compose file's migrate service collects static files again into the volume nginx serves,
# as this user: it owns them.
RUN useradd --system --uid 1000 parley && mkdir -p /app/media && chown -R parley /app/media /app/staticfiles
USER parley
EXPOSE 8000
# One app process (WORKERS uvicorn workers on one port), sharing Redis and PostgreSQL with the
# others; options: chatsite/serve.py. Migrations are not run here: docker-compose.yml runs them
# once, in its migrate service, before any app process starts (`python manage.py migrate` by hand
# otherwise). Set TRUSTED_PROXIES to the proxy in front.
CMD ["python", "-m", "chatsite.serve", "--host", "0.0.0.0", "--port", "8000"]
