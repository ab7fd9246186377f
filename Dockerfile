# The fieldlab-kit image: simulators, gateway, dashboard and the fieldlab command.
FROM python:3.11-slim
WORKDIR /opt/fieldlab
COPY pyproject.toml README.md ./
COPY edge ./edge
COPY simulators ./simulators
COPY dashboards ./dashboards
COPY recipes ./recipes
COPY bench ./bench
RUN pip install --no-cache-dir . && useradd --create-home fieldlab
USER fieldlab
WORKDIR /data
ENTRYPOINT ["fieldlab"]
CMD ["--help"]
