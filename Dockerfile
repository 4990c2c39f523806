# The CRM worker image. docker-compose.yml runs it beside PostgreSQL and Temporal.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY crm crm
COPY workflows workflows
COPY activities activities
COPY rules rules
COPY adapters adapters
COPY cli cli
COPY simulator simulator
COPY worker.py ./
RUN pip install --no-cache-dir .
USER nobody
EXPOSE 9464
CMD ["crm", "worker"]
