# Chainquiz on Debian 12, installed by the same script as a developer's
# machine (scripts/setup), built by scripts/build.
FROM debian:12
WORKDIR /opt/chainquiz
COPY . .
RUN scripts/setup && scripts/build build \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --home /opt/chainquiz chainquiz \
    && mkdir -p /var/lib/chainquiz && chown chainquiz /var/lib/chainquiz
USER chainquiz
ENV CHAINQUIZ_BIND=0.0.0.0 \
    CHAINQUIZ_PORT=8080 \
    CHAINQUIZ_CONTENT=/opt/chainquiz/content \
    CHAINQUIZ_WEB_ROOT=/opt/chainquiz/web-client \
    CHAINQUIZ_DATA_DIR=/var/lib/chainquiz
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --retries=3 \
  CMD bash -c 'exec 3<>/dev/tcp/127.0.0.1/8080 && printf "GET /healthz HTTP/1.0\r\n\r\n" >&3 && grep -q "\"ok\"" <&3'
CMD ["build/chainquiz"]
