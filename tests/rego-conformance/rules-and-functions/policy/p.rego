package rules.functions

import rego.v1

default tier := "unknown"

tier := "prod" if input.env == "production"
else := "dev" if input.env == "development"

port_ok(p) if p == 443

port_ok(p) if {
	p >= 8000
	p < 9000
}

covers("*", _)

covers(x, x)

deny contains msg if {
	some port in input.ports
	not port_ok(port)
	msg := sprintf("port %d not allowed in tier %s", [port, tier])
}

deny_everyone contains "every port must be TLS" if {
	count(input.ports) > 0
	not every_tls
}

every_tls if {
	every port in input.ports {
		port == 443
	}
}

warn_scope contains msg if {
	some s in input.scopes
	not covers(s, input.wanted)
	msg := sprintf("scope %s does not cover %s", [s, input.wanted])
}

names := {n | some n, _ in input.labels}

warn_labels contains msg if {
	missing := {"app", "owner"} - names
	count(missing) > 0
	msg := sprintf("missing labels: %v", [sort([m | some m in missing])])
}

volumes contains input.spec.volumes[_]

deny_volumes contains sprintf("volume %v", [v]) if some v in volumes
