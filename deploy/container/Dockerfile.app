# The example web application (examples/app), static, on an empty base.
# Built like Dockerfile, from a context holding the binary:
#
#   CGO_ENABLED=0 go build -trimpath -o ctx/ ./examples/app
#   buildah bud -f deploy/container/Dockerfile.app -t sessfs/app ctx
FROM scratch
COPY app /
USER 65532:65532
EXPOSE 8080 2112
ENTRYPOINT ["/app"]
CMD ["-dir", "/mnt/efs/sessions", "-addr", ":8080", "-metrics-addr", ":2112"]
