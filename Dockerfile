# Tribune: one static-ish binary on a slim Debian with CA certificates, run as a non-root user.
FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin tribune

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /var/lib/tribune --shell /usr/sbin/nologin tribune \
 && mkdir -p /var/lib/tribune /etc/tribune \
 && chown tribune:tribune /var/lib/tribune
COPY --from=build /src/target/release/tribune /usr/local/bin/tribune
COPY config/default.toml /etc/tribune/tribune.toml
# Override any key with TRIBUNE__SECTION__KEY, e.g. TRIBUNE__INSTANCE__BASE_URL=https://collectif.example
ENV TRIBUNE_CONFIG=/etc/tribune/tribune.toml \
    TRIBUNE__DATA_DIR=/var/lib/tribune \
    TRIBUNE__SERVER__LISTEN=0.0.0.0:8080
USER tribune
WORKDIR /var/lib/tribune
VOLUME ["/var/lib/tribune"]
EXPOSE 8080
STOPSIGNAL SIGTERM
ENTRYPOINT ["tribune"]
CMD ["serve"]
