# The agent image: spire-agent copied from the official image onto a glibc base (distroless cc: glibc and
# libgcc_s, which a `deno compile` binary needs; the official image is FROM scratch), plus the plugin at
# /opt/spire/plugins/k8s-attestor. Same build context as plugin.Dockerfile.
#   docker buildx build --platform linux/amd64,linux/arm64 -f deploy/images/agent.Dockerfile <context>
ARG SPIRE_VERSION=1.15.3
FROM ghcr.io/spiffe/spire-agent:${SPIRE_VERSION} AS spire
FROM gcr.io/distroless/cc-debian12
ARG TARGETPLATFORM
COPY --from=spire /opt/spire/bin/spire-agent /opt/spire/bin/spire-agent
COPY --chmod=0555 ${TARGETPLATFORM}/k8s-attestor /opt/spire/plugins/k8s-attestor
COPY --chmod=0444 ${TARGETPLATFORM}/k8s-attestor.sha256 /opt/spire/plugins/k8s-attestor.sha256
WORKDIR /opt/spire
# The official image's entrypoint, so the Helm chart's arguments (`-config …`) work unchanged.
ENTRYPOINT ["/opt/spire/bin/spire-agent", "run"]
