# One image per pipeline, for those who build with Docker:
#   docker build --build-arg PIPELINE=natsuser --build-arg VERSION=v0.1.0 .
# `make images` builds the same images without Docker (cmd/pkimage), and
# this file produces the same filesystem, user and entrypoint: its build
# stage writes the image's files with `pkimage rootfs`, the code `make
# images` puts in its layer (the pipeline's commands, /stage among them, a
# pinned CA bundle, /etc/passwd and /etc/group for the nonroot user 65532),
# and the image is those files alone, from scratch: no shell. test/image
# (dockerfile_test.go) compares the two recipes.
FROM golang:1.26.8 AS build
ARG PIPELINE
ARG VERSION=dev
ENV CGO_ENABLED=0 GOTOOLCHAIN=local
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# Every command under pipelines/$PIPELINE ships: the stage as /stage, and
# any it starts (environment's environment-aws) beside it.
RUN test -n "$PIPELINE" && test -d "pipelines/$PIPELINE" && \
    go build -trimpath -ldflags "-s -w -X github.com/promisekit/promisekit/pkg/kratix.Version=${VERSION}" \
      -o /out/ "./pipelines/${PIPELINE}/..." && \
    go run ./cmd/pkimage rootfs -pipeline "$PIPELINE" -bin /out -out /rootfs

FROM scratch
ARG VERSION=dev
ARG REVISION=unknown
LABEL org.opencontainers.image.source="https://github.com/promisekit/promisekit" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.version="${VERSION}"
COPY --from=build /rootfs/ /
USER 65532:65532
ENTRYPOINT ["/stage"]
