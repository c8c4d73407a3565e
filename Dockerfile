# The CodeCrafters way to run skiff: `docker build -t mydocker . && docker run
# --cap-add=SYS_ADMIN mydocker run alpine echo hi`. Nothing is pulled to build it:
# the image holds only the static binary that `make` built.
FROM scratch
COPY target/x86_64-unknown-linux-musl/release/skiff /usr/local/bin/skiff
ENTRYPOINT ["/usr/local/bin/skiff"]
