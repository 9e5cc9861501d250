# Security group ingress open to the whole internet (0.0.0.0/0 or ::/0), and groups or rules
# without a description (THOTH-AWS-SG-005).
#
# Covers inline `ingress` blocks (and the `ingress = [...]` attribute form) of aws_security_group,
# aws_security_group_rule with type = "ingress", and aws_vpc_security_group_ingress_rule.
# One finding per rule and per kind of exposure: a rule open on every port is reported once as
# THOTH-AWS-SG-003, not again as SSH and RDP. Ports given as expressions (`var.port`) cannot be
# checked: a world-open rule with an unknown port is a THOTH-AWS-SG-004 warning.
# Ports listed in data.thoth.public_ingress_ports (default 80 and 443) may be open to the world
# without a warning (public load balancers).
package thoth.terraform.security_groups

import rego.v1

import data.thoth.lib.terraform as tf
import data.thoth.lib.util

docs := {
	"THOTH-AWS-SG-001": {
		"title": "SSH (22) open to the internet",
		"description": "An ingress rule allows TCP port 22 from 0.0.0.0/0 or ::/0, exposing SSH to brute force and to every future OpenSSH vulnerability.",
		"remediation": "Restrict `cidr_blocks` to a bastion or VPN range, or remove SSH and use AWS Systems Manager Session Manager.",
	},
	"THOTH-AWS-SG-002": {
		"title": "RDP (3389) open to the internet",
		"description": "An ingress rule allows port 3389 from 0.0.0.0/0 or ::/0. Internet-facing RDP is one of the most common ransomware entry points.",
		"remediation": "Restrict the source to a VPN or bastion range, or use Session Manager / Fleet Manager for remote desktop.",
	},
	"THOTH-AWS-SG-003": {
		"title": "All ports open to the internet",
		"description": "An ingress rule with protocol -1 (all traffic) or the full port range 0-65535 is open to 0.0.0.0/0 or ::/0: every service on the instances is reachable from anywhere.",
		"remediation": "Allow only the ports the workload serves, from the narrowest source range (a load balancer's security group, a VPC CIDR).",
	},
	"THOTH-AWS-SG-004": {
		"title": "Port open to the internet",
		"description": "An ingress rule opens a port other than SSH/RDP to 0.0.0.0/0 or ::/0 (or a port thoth cannot determine because it is an expression). Ports listed in `data.thoth.public_ingress_ports` (default 80, 443) are allowed.",
		"remediation": "Check that the port must be public. Otherwise restrict the source CIDR or reference a security group; for intentionally public ports add them to `public_ingress_ports` in the policy data.",
	},
	"THOTH-AWS-SG-005": {
		"title": "Security group without a description",
		"description": "An `aws_security_group` or `aws_security_group_rule` has no `description` (or an empty one). Reviewers and incident responders read descriptions to tell why a rule exists and whether it can go.",
		"remediation": "Set `description` to what the group or rule is for. On an existing `aws_security_group` a changed description replaces the group: `thoth-bot fix` writes the provider default `Managed by Terraform`, which changes nothing in AWS, for you to refine when the group is recreated anyway.",
	},
}

public_ingress_ports := ports if {
	ports := data.thoth.public_ingress_ports
	is_array(ports)
} else := [80, 443]

world_cidrs := {"0.0.0.0/0", "::/0"}

# Normalised ingress rules: {"resource", "label", "protocol", "from", "to", "cidrs"}.
ingress_rules contains rule if {
	some r in tf.resources_of("aws_security_group")
	some i, block in util.arr(r.config.ingress)
	is_object(block)
	rule := {
		"resource": r.address,
		"label": sprintf("%s ingress #%d", [r.address, i + 1]),
		"protocol": object.get(block, "protocol", "tcp"),
		"from": object.get(block, "from_port", null),
		"to": object.get(block, "to_port", null),
		"cidrs": array.concat(util.arr(object.get(block, "cidr_blocks", [])), util.arr(object.get(block, "ipv6_cidr_blocks", []))),
	}
}

ingress_rules contains rule if {
	some r in tf.resources_of("aws_security_group_rule")
	r.config.type == "ingress"
	rule := {
		"resource": r.address,
		"label": r.address,
		"protocol": object.get(r.config, "protocol", "tcp"),
		"from": object.get(r.config, "from_port", null),
		"to": object.get(r.config, "to_port", null),
		"cidrs": array.concat(util.arr(object.get(r.config, "cidr_blocks", [])), util.arr(object.get(r.config, "ipv6_cidr_blocks", []))),
	}
}

ingress_rules contains rule if {
	some r in tf.resources_of("aws_vpc_security_group_ingress_rule")
	rule := {
		"resource": r.address,
		"label": r.address,
		"protocol": object.get(r.config, "ip_protocol", "tcp"),
		"from": object.get(r.config, "from_port", null),
		"to": object.get(r.config, "to_port", null),
		"cidrs": [c | some key in ["cidr_ipv4", "cidr_ipv6"]; c := r.config[key]],
	}
}

# Rules reachable from the whole internet, with the world CIDRs they use.
open_rules contains [rule, cidrs] if {
	some rule in ingress_rules
	cidrs := sort([c | some c in rule.cidrs; c in world_cidrs])
	count(cidrs) > 0
}

all_protocols(p) if util.lower_str(p) in {"-1", "all"}

all_protocols(p) if p == -1

icmp(p) if util.lower_str(p) in {"icmp", "icmpv6", "1", "58"}

icmp(p) if p in {1, 58}

# Kind of exposure of a world-open rule: {"all"}, {"other"}, {"unknown"} (port is an expression),
# or the named ports it covers ({"ssh"}, {"rdp"}, {"ssh", "rdp"} for a range covering both).
exposure(rule) := {"all"} if {
	all_protocols(rule.protocol)
} else := {"all"} if {
	util.number(rule.from) <= 0
	util.number(rule.to) >= 65535
} else := {"other"} if {
	icmp(rule.protocol)
} else := named_or_other(rule) if {
	util.number(rule.from)
	util.number(rule.to)
} else := {"unknown"}

named_ports(rule) := {kind |
	from := util.number(rule.from)
	to := util.number(rule.to)
	some kind, port in {"ssh": 22, "rdp": 3389}
	from <= port
	port <= to
}

named_or_other(rule) := named if {
	named := named_ports(rule)
	count(named) > 0
} else := {"other"}

# Whether every port of the rule is in the public allow-list.
allowed_public(rule) if {
	not all_protocols(rule.protocol)
	not icmp(rule.protocol)
	from := util.number(rule.from)
	to := util.number(rule.to)
	allowed := {p | some p in util.arr(public_ingress_ports); is_number(p); from <= p; p <= to}
	count(allowed) == (to - from) + 1
}

finding(rule, cidrs, id, what) := {
	"msg": sprintf("%s allows %s from %s", [rule.label, what, concat(" and ", cidrs)]),
	"id": id,
	"severity": "critical",
	"pattern": "unrestricted_security_groups",
	"resource": rule.resource,
}

deny_sg_ssh_open contains result if {
	some [rule, cidrs] in open_rules
	"ssh" in exposure(rule)
	result := finding(rule, cidrs, "THOTH-AWS-SG-001", "SSH (port 22)")
}

deny_sg_rdp_open contains result if {
	some [rule, cidrs] in open_rules
	"rdp" in exposure(rule)
	result := finding(rule, cidrs, "THOTH-AWS-SG-002", "RDP (port 3389)")
}

deny_sg_all_open contains result if {
	some [rule, cidrs] in open_rules
	"all" in exposure(rule)
	result := finding(rule, cidrs, "THOTH-AWS-SG-003", "all ports and protocols")
}

port_text(rule) := sprintf("port %v", [rule.from]) if {
	rule.from == rule.to
} else := sprintf("ports %v-%v", [rule.from, rule.to])

warn_sg_port_open contains result if {
	some [rule, cidrs] in open_rules
	kinds := exposure(rule)
	kinds & {"other", "unknown"} != set()
	not allowed_public(rule)
	result := {
		"msg": sprintf("%s allows %s (%v) from %s", [rule.label, port_text(rule), rule.protocol, concat(" and ", cidrs)]),
		"id": "THOTH-AWS-SG-004",
		"severity": "medium",
		"resource": rule.resource,
	}
}

# --- THOTH-AWS-SG-005: descriptions -------------------------------------------------------------

# An expression (`var.description`) counts as a description.
warn_sg_description contains result if {
	some r in tf.resources
	r.type in {"aws_security_group", "aws_security_group_rule"}
	r.source == "config"
	trim_space(util.str(r.config, "description")) == ""
	result := {
		"msg": sprintf("%s has no description: say what it is for", [r.address]),
		"id": "THOTH-AWS-SG-005",
		"severity": "low",
		"resource": r.address,
	}
}
