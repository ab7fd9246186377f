# Stand-in for caddy:2: Debian's Caddy 2 with the official image's configuration and data
# folders (XDG_CONFIG_HOME=/config, XDG_DATA_HOME=/data) and command.
FROM fieldlab-standin/debian:bookworm
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      caddy ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /config/caddy /data/caddy /etc/caddy
ENV XDG_CONFIG_HOME=/config XDG_DATA_HOME=/data
LABEL fieldlab.standin="caddy:2"
EXPOSE 80 443
WORKDIR /srv
CMD ["caddy", "run", "--config", "/etc/caddy/Caddyfile", "--adapter", "caddyfile"]
