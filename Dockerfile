# syntax=docker/dockerfile:1
# Multi-stage release build of the `poolvc` binary.
#   docker build -t poolvc .
#   docker run -v poolvc-data:/data poolvc --help

FROM rust:1.95-bookworm AS build
WORKDIR /src
# Dependency manifests first so the dependency layer is cached across source edits.
COPY Cargo.toml Cargo.lock ./
COPY types/Cargo.toml types/Cargo.toml
COPY signer/Cargo.toml signer/Cargo.toml
COPY slashing-protection/Cargo.toml slashing-protection/Cargo.toml
COPY pool-registry/Cargo.toml pool-registry/Cargo.toml
COPY oracle/Cargo.toml oracle/Cargo.toml
COPY contracts/Cargo.toml contracts/Cargo.toml
COPY signer-server/Cargo.toml signer-server/Cargo.toml
COPY validator/Cargo.toml validator/Cargo.toml
COPY benches/Cargo.toml benches/Cargo.toml
RUN for c in types signer slashing-protection pool-registry oracle contracts signer-server benches; do \
      mkdir -p $c/src && echo '' > $c/src/lib.rs; done \
 && mkdir -p contracts/benches && echo 'fn main() {}' > contracts/benches/gas.rs \
 && mkdir -p validator/src && echo 'fn main() {}' > validator/src/main.rs \
 && cargo fetch --locked
COPY . .
RUN cargo build --release --locked -p validator --bin poolvc \
 && install -m 0755 target/release/poolvc /usr/local/bin/poolvc

FROM debian:bookworm-slim
# ca-certificates and tini track the Debian release's security updates; pinning them would freeze those.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates tini \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 poolvc \
 && useradd --system --uid 10001 --gid poolvc --home-dir /data --shell /usr/sbin/nologin poolvc \
 && mkdir -p /data && chown poolvc:poolvc /data && chmod 0700 /data
COPY --from=build /usr/local/bin/poolvc /usr/local/bin/poolvc
USER 10001:10001
VOLUME ["/data"]
# Keymanager API (loopback by default inside the container; publish explicitly), metrics, reports API,
# and the `poolvc signer` API (also loopback by default: --http-address to publish it).
EXPOSE 5062 5064 5065 9000
ENTRYPOINT ["/usr/bin/tini", "--", "/usr/local/bin/poolvc"]
CMD ["run", "--datadir", "/data"]
