package thoth.lib.images_test

import rego.v1

import data.thoth.lib.images as img

test_tag if {
	img.tag("nginx") == ""
	img.tag("nginx:1.27") == "1.27"
	img.tag("registry.acme.internal:5000/team/api") == ""
	img.tag("registry.acme.internal:5000/team/api:2.0") == "2.0"
	img.tag("ghcr.io/acme/api:latest@sha256:abc") == "latest"
}

test_registry_and_normalized if {
	img.registry("nginx") == "docker.io"
	img.registry("bitnami/redis:7") == "docker.io"
	img.registry("ghcr.io/acme/api:1") == "ghcr.io"
	img.registry("localhost/api") == "localhost"
	img.registry("registry.acme.internal:5000/team/api") == "registry.acme.internal:5000"
	img.normalized("nginx:1.27") == "docker.io/library/nginx:1.27"
	img.normalized("bitnami/redis") == "docker.io/bitnami/redis"
	img.normalized("docker.io/bitnami/redis") == "docker.io/bitnami/redis"
	img.normalized("ghcr.io/acme/api") == "ghcr.io/acme/api"
}

test_digest if {
	img.has_digest("nginx@sha256:0123")
	not img.has_digest("nginx:1.27")
}
