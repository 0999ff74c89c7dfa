# docker buildx bake: the key reaches the build only as the secret ANACONDA_AUTH_API_KEY.
#   export ANACONDA_SECRET_FILE="$(anaconda-ci-auth docker-secret --json | jq -r .path)"
#   docker buildx bake app
#   anaconda-ci-auth cleanup --dir "$(dirname "${ANACONDA_SECRET_FILE}")"

variable "ANACONDA_SECRET_FILE" {
  default = ""
}

target "app" {
  context    = "."
  dockerfile = "registration.Dockerfile"
  tags       = ["app:latest"]
  secret     = ["id=ANACONDA_AUTH_API_KEY,src=${ANACONDA_SECRET_FILE}"]
}
