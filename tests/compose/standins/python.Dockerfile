# Stand-in for python:3.11-slim: Debian bookworm's Python 3.11 and pip where the official image
# has them (/usr/local/bin/python, pip installing as root into the system), LANG C.UTF-8.
FROM fieldlab-standin/debian:bookworm
ENV LANG=C.UTF-8
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      python3 python3-pip python3-venv ca-certificates \
 && rm -rf /var/lib/apt/lists/* /usr/lib/python3.11/EXTERNALLY-MANAGED \
 && ln -s /usr/bin/python3 /usr/local/bin/python \
 && ln -s /usr/bin/pip3 /usr/local/bin/pip
LABEL fieldlab.standin="python:3.11-slim"
CMD ["python3"]
