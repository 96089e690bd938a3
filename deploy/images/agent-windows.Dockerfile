# The Windows agent image for the hostprocess DaemonSet: spire-agent.exe (from the SPIRE Windows release zip,
# checked against its published sha256 by the release workflow) and the plugin under plugins\. Hostprocess
# images need not match the host's Windows version; this base holds no files of its own.
# Build context: windows/ holding spire-agent.exe, k8s-attestor-windows-x64.exe and its .sha256.
#   docker buildx build --platform windows/amd64 -f deploy/images/agent-windows.Dockerfile <context>
FROM mcr.microsoft.com/oss/kubernetes/windows-host-process-containers-base-image:v1.0.0
COPY windows/spire-agent.exe /spire-agent.exe
COPY windows/k8s-attestor-windows-x64.exe /plugins/k8s-attestor-windows-x64.exe
COPY windows/k8s-attestor-windows-x64.exe.sha256 /plugins/k8s-attestor-windows-x64.exe.sha256
ENTRYPOINT ["spire-agent.exe"]
