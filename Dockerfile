# One image per pipeline: docker build --build-arg PIPELINE=natsuser .
# The runtime image has no shell and runs as the distroless nonroot user.
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
    mv "/out/${PIPELINE}" /out/stage

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/ /
USER 65532:65532
ENTRYPOINT ["/stage"]
