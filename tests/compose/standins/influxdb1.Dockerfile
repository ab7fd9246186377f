# InfluxDB 2.7 has no Debian package: Debian's InfluxDB 1.x stands in for it, through the test's
# compose override (tests/compose/override.yaml), with its data on /var/lib/influxdb.
FROM fieldlab-standin/debian:bookworm
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      influxdb influxdb-client \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /var/lib/influxdb && chown -R influxdb:influxdb /var/lib/influxdb
LABEL fieldlab.standin="influxdb 1.x for influxdb:2.7"
USER influxdb
EXPOSE 8086
CMD ["influxd", "-config", "/etc/influxdb/influxdb.conf"]
