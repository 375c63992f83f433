FROM python:3.11-slim
ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 RELAYDESK_DATA_DIR=/data RELAYDESK_HOST=0.0.0.0
WORKDIR /app
COPY pyproject.toml README.md ./
COPY relaydesk ./relaydesk
RUN pip install . && useradd --create-home relaydesk && mkdir /data && chown relaydesk /data
USER relaydesk
VOLUME /data
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz')"
CMD ["relaydesk", "serve"]
