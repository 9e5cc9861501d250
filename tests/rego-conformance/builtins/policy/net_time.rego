package builtins

import rego.v1

deny_net contains msg if {
	some rule in input.ingress
	some cidr in rule.cidrs
	net.cidr_contains(cidr, "8.8.8.8")
	msg := sprintf("ingress on %d open to the internet via %s", [rule.port, cidr])
}

deny_net contains msg if {
	some rule in input.ingress
	some cidr in rule.cidrs
	net.cidr_intersects(cidr, "10.0.0.0/8")
	msg := sprintf("%s overlaps 10.0.0.0/8", [cidr])
}

warn_time contains msg if {
	t := time.parse_rfc3339_ns(input.certificate.not_after)
	limit := time.parse_rfc3339_ns("2025-01-01T00:00:00Z")
	t < limit
	[y, m, d] := time.date(t)
	msg := sprintf("certificate expired on %d-%02d-%02d (%s)", [y, m, d, time.weekday(t)])
}

warn_time contains msg if {
	d := time.parse_duration_ns(input.certificate.renew_before)
	d < time.parse_duration_ns("720h")
	msg := sprintf("renewal window %s is under 30 days", [input.certificate.renew_before])
}
