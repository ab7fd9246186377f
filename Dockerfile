# The fieldlab-kit image: simulators, gateway, dashboard and the fieldlab command.
#   docker build -t fieldlab-kit .
# Behind a proxy that inspects HTTPS, give the build the certificates of its CA (PEM text; the
# ones your company added, not the whole system bundle, which is too long for an argument):
#   docker build --build-arg CA_CERTS="$(cat /usr/local/share/ca-certificates/*.crt)" -t fieldlab-kit .
FROM python:3.11-slim
ARG CA_CERTS=""
ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN if [ -n "$CA_CERTS" ]; then \
      printf '%s\n' "$CA_CERTS" >> /etc/ssl/certs/ca-certificates.crt; \
    fi
ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
WORKDIR /opt/fieldlab
# The dependencies first, in their own layer: a change to the kit's code rebuilds in seconds.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml','rb'))['project']['dependencies']))" \
      > requirements.txt \
 && pip install -r requirements.txt
COPY README.md setup.py ./
COPY edge ./edge
COPY simulators ./simulators
COPY dashboards ./dashboards
COPY recipes ./recipes
COPY bench ./bench
# /data is where the gateway keeps its queue and observed.json and the dashboard its users:
# owned by the image's user, so a fresh named volume mounted there is writable (Docker copies
# the folder's owner into an empty volume).
RUN pip install --no-deps . \
 && useradd --create-home --uid 1000 fieldlab \
 && mkdir -p /data && chown fieldlab:fieldlab /data
USER fieldlab
WORKDIR /data
ENTRYPOINT ["fieldlab"]
CMD ["--help"]
