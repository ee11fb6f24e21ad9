# The paasd image used by docker-compose.yml: paasd and the paas CLI on Debian bookworm with
# git (receive-pack), debootstrap (stack bootstrap) and tar.
ARG RUST_IMAGE=rust:1-bookworm
ARG BASE_IMAGE=debian:bookworm-slim

FROM ${RUST_IMAGE} AS build
WORKDIR /src
COPY . .
RUN cargo build --release --bins

FROM ${BASE_IMAGE}
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      ca-certificates git debootstrap tar curl \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/target/release/paasd /src/target/release/paas /usr/local/bin/
ENV PAAS_DATA=/var/lib/paas PAAS_HTTP_ADDR=0.0.0.0:8080
EXPOSE 8080
VOLUME /var/lib/paas
CMD ["paasd"]
