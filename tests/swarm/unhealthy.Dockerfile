# The app image with a healthcheck that always fails: the swarm test deploys it as an update and
# expects Swarm to roll back to the previous image by itself.
ARG APP_IMAGE
FROM ${APP_IMAGE}
HEALTHCHECK --interval=5s --timeout=3s --start-period=5s --retries=2 CMD ["false"]
