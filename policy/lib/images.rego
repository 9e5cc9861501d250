# Container image references (Kubernetes manifests and Dockerfile FROM lines).
package thoth.lib.images

import rego.v1

# An image is pinned by digest when it contains "@sha256:".
has_digest(image) if contains(image, "@sha256:")

# The tag of an image reference, "" when it has none (the last ":" after the last "/").
tag(image) := t if {
	no_digest := split(image, "@")[0]
	parts := split(no_digest, "/")
	last := parts[count(parts) - 1]
	contains(last, ":")
	pieces := split(last, ":")
	t := pieces[count(pieces) - 1]
} else := ""

# The registry host of an image reference: the first path component when it looks like a host
# (contains "." or ":" or is "localhost"), else "docker.io" (Docker Hub short names).
registry(image) := first if {
	parts := split(image, "/")
	count(parts) > 1
	first := parts[0]
	host_like(first)
} else := "docker.io"

host_like(s) if contains(s, ".")

host_like(s) if contains(s, ":")

host_like(s) if s == "localhost"

# "nginx:1.27" -> "docker.io/library/nginx:1.27"; "bitnami/redis" -> "docker.io/bitnami/redis".
normalized(image) := image if {
	registry(image) != "docker.io"
} else := image if {
	startswith(image, "docker.io/")
} else := concat("/", ["docker.io/library", image]) if {
	not contains(image, "/")
} else := concat("/", ["docker.io", image])
