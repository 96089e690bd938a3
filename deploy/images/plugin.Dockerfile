# The plugin image: only the k8s-attestor binary and its .sha256, nothing else (no shell, no libc). The spiffe
# Helm chart copies /k8s-attestor out of it with its own busybox (customPlugins.workloadAttestor.k8s.image).
# Build context (made by .github/workflows/release.yml): linux/amd64/ and linux/arm64/, each holding
# k8s-attestor and k8s-attestor.sha256 from the release binaries k8s-attestor-linux-x64 / -arm64.
#   docker buildx build --platform linux/amd64,linux/arm64 -f deploy/images/plugin.Dockerfile <context>
FROM scratch
ARG TARGETPLATFORM
COPY --chmod=0555 ${TARGETPLATFORM}/k8s-attestor /k8s-attestor
COPY --chmod=0444 ${TARGETPLATFORM}/k8s-attestor.sha256 /k8s-attestor.sha256
USER 65532:65532
ENTRYPOINT ["/k8s-attestor"]
CMD ["--version"]
