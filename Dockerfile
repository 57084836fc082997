# The Starling container image: one binary for every component, `starling <component>
# --config FILE`. Built by scripts/build-image, which stages the root filesystem (the
# stripped binary, the shared libraries it links and the loader, /etc/passwd with the
# `starling` user 65532) and uses the staging directory as the build context; no base
# image is pulled, so the build works without access to any registry.
FROM scratch

ARG VERSION=dev
ARG REVISION=unknown

LABEL org.opencontainers.image.title="starling" \
      org.opencontainers.image.description="Peer-to-peer container image distribution: proxy, origin, tracker, build-index and agent in one binary" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}"

COPY rootfs/ /
# COPY makes files root-owned; the state directory belongs to the runtime user, and a
# fresh named volume mounted on it takes this ownership.
COPY --chown=65532:65532 state/ /var/lib/starling/

ENV PATH=/usr/local/bin
WORKDIR /var/lib/starling
USER 65532:65532
ENTRYPOINT ["starling"]
CMD ["--help"]
