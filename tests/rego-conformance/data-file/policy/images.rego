package images

import rego.v1

allowed(image) if {
	some prefix in data.registries.allowed
	startswith(image, sprintf("%s/", [prefix]))
}

images contains c.image if some c in input.spec.template.spec.containers

images contains c.image if some c in input.spec.template.spec.initContainers

deny contains msg if {
	some image in images
	not allowed(image)
	msg := sprintf("image %s is not from an allowed registry", [image])
}

warn contains {"msg": msg, "severity": "low"} if {
	some image in images
	not contains(image, "@sha256:")
	msg := sprintf("image %s is not pinned by digest", [image])
}
