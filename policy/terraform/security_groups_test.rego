package thoth.terraform.security_groups_test

import rego.v1

import data.thoth.terraform.security_groups as sg

ids(results) := {r.id | some r in results}

sg_with(ingress) := {"resource": {"aws_security_group": {"web": {
	"name": "prod-shop-web",
	"vpc_id": "${aws_vpc.main.id}",
	"ingress": ingress,
	"egress": [{"from_port": 0, "to_port": 0, "protocol": "-1", "cidr_blocks": ["0.0.0.0/0"]}],
}}}}

# --- THOTH-AWS-SG-001 ---

test_sg_001_inline_ssh_open if {
	results := sg.deny_sg_ssh_open with data.thoth.public_ingress_ports as [80, 443] with input as sg_with([{"from_port": 22, "to_port": 22, "protocol": "tcp", "cidr_blocks": ["0.0.0.0/0"]}])
	some r in results
	r.id == "THOTH-AWS-SG-001"
	r.severity == "critical"
	r.pattern == "unrestricted_security_groups"
	r.resource == "aws_security_group.web"
}

test_sg_001_range_covering_22_ipv6 if {
	results := sg.deny_sg_ssh_open with data.thoth.public_ingress_ports as [80, 443] with input as sg_with([{"from_port": 20, "to_port": 25, "protocol": "tcp", "ipv6_cidr_blocks": ["::/0"]}])
	"THOTH-AWS-SG-001" in ids(results)
}

test_sg_001_security_group_rule if {
	results := sg.deny_sg_ssh_open with data.thoth.public_ingress_ports as [80, 443] with input as {"resource": {"aws_security_group_rule": {"ssh": {
		"type": "ingress",
		"from_port": 22,
		"to_port": 22,
		"protocol": "tcp",
		"cidr_blocks": ["10.0.0.0/8", "0.0.0.0/0"],
		"security_group_id": "${aws_security_group.web.id}",
	}}}}
	some r in results
	r.resource == "aws_security_group_rule.ssh"
}

test_sg_001_vpc_ingress_rule if {
	results := sg.deny_sg_ssh_open with data.thoth.public_ingress_ports as [80, 443] with input as {"resource": {"aws_vpc_security_group_ingress_rule": {"ssh": {
		"security_group_id": "${aws_security_group.web.id}",
		"cidr_ipv4": "0.0.0.0/0",
		"from_port": 22,
		"to_port": 22,
		"ip_protocol": "tcp",
	}}}}
	"THOTH-AWS-SG-001" in ids(results)
}

test_sg_001_restricted_cidr_passes if {
	count(sg.deny_sg_ssh_open) == 0 with data.thoth.public_ingress_ports as [80, 443] with input as sg_with([{"from_port": 22, "to_port": 22, "protocol": "tcp", "cidr_blocks": ["10.20.0.0/16"]}])
}

test_sg_001_egress_rule_is_not_ingress if {
	count(sg.deny_sg_ssh_open) == 0 with data.thoth.public_ingress_ports as [80, 443] with input as {"resource": {"aws_security_group_rule": {"out": {
		"type": "egress", "from_port": 22, "to_port": 22, "protocol": "tcp", "cidr_blocks": ["0.0.0.0/0"],
	}}}}
}

# --- THOTH-AWS-SG-002 ---

test_sg_002_rdp_open if {
	results := sg.deny_sg_rdp_open with data.thoth.public_ingress_ports as [80, 443] with input as sg_with([{"from_port": 3389, "to_port": 3389, "protocol": "tcp", "cidr_blocks": ["0.0.0.0/0"]}])
	some r in results
	r.id == "THOTH-AWS-SG-002"
	r.severity == "critical"
}

test_sg_002_rdp_from_vpn_passes if {
	count(sg.deny_sg_rdp_open) == 0 with data.thoth.public_ingress_ports as [80, 443] with input as sg_with([{"from_port": 3389, "to_port": 3389, "protocol": "tcp", "cidr_blocks": ["172.16.0.0/12"]}])
}

# --- THOTH-AWS-SG-003 ---

test_sg_003_protocol_all if {
	input_doc := sg_with([{"from_port": 0, "to_port": 0, "protocol": "-1", "cidr_blocks": ["0.0.0.0/0"]}])
	results := sg.deny_sg_all_open with data.thoth.public_ingress_ports as [80, 443] with input as input_doc
	"THOTH-AWS-SG-003" in ids(results)
	# reported once as "all ports", not again as SSH / RDP / other
	count(sg.deny_sg_ssh_open) == 0 with data.thoth.public_ingress_ports as [80, 443] with input as input_doc
	count(sg.warn_sg_port_open) == 0 with data.thoth.public_ingress_ports as [80, 443] with input as input_doc
}

test_sg_003_full_tcp_range if {
	results := sg.deny_sg_all_open with data.thoth.public_ingress_ports as [80, 443] with input as sg_with([{"from_port": 0, "to_port": 65535, "protocol": "tcp", "cidr_blocks": ["0.0.0.0/0"]}])
	"THOTH-AWS-SG-003" in ids(results)
}

test_sg_003_vpc_ingress_rule_all_traffic if {
	results := sg.deny_sg_all_open with data.thoth.public_ingress_ports as [80, 443] with input as {"resource": {"aws_vpc_security_group_ingress_rule": {"any": {
		"security_group_id": "${aws_security_group.web.id}",
		"cidr_ipv6": "::/0",
		"ip_protocol": "-1",
	}}}}
	"THOTH-AWS-SG-003" in ids(results)
}

test_sg_003_all_traffic_inside_vpc_passes if {
	count(sg.deny_sg_all_open) == 0 with data.thoth.public_ingress_ports as [80, 443] with input as sg_with([{"from_port": 0, "to_port": 0, "protocol": "-1", "cidr_blocks": ["10.0.0.0/16"]}])
}

test_sg_003_egress_is_not_checked if {
	count(sg.deny_sg_all_open) == 0 with data.thoth.public_ingress_ports as [80, 443] with input as sg_with([])
}

# --- THOTH-AWS-SG-004 ---

test_sg_004_other_port_warns if {
	results := sg.warn_sg_port_open with data.thoth.public_ingress_ports as [80, 443] with input as sg_with([{"from_port": 5432, "to_port": 5432, "protocol": "tcp", "cidr_blocks": ["0.0.0.0/0"]}])
	some r in results
	r.id == "THOTH-AWS-SG-004"
	r.severity == "medium"
	not r.pattern
	contains(r.msg, "port 5432")
}

test_sg_004_unknown_port_warns if {
	results := sg.warn_sg_port_open with data.thoth.public_ingress_ports as [80, 443] with input as sg_with([{"from_port": "${var.port}", "to_port": "${var.port}", "protocol": "tcp", "cidr_blocks": ["0.0.0.0/0"]}])
	"THOTH-AWS-SG-004" in ids(results)
}

test_sg_004_https_is_allowed_by_default if {
	count(sg.warn_sg_port_open) == 0 with data.thoth.public_ingress_ports as [80, 443] with input as sg_with([
		{"from_port": 443, "to_port": 443, "protocol": "tcp", "cidr_blocks": ["0.0.0.0/0"], "ipv6_cidr_blocks": ["::/0"]},
		{"from_port": 80, "to_port": 80, "protocol": "tcp", "cidr_blocks": ["0.0.0.0/0"]},
	])
}

test_sg_004_allow_list_comes_from_data if {
	results := sg.warn_sg_port_open with input as sg_with([{"from_port": 80, "to_port": 80, "protocol": "tcp", "cidr_blocks": ["0.0.0.0/0"]}])
		with data.thoth.public_ingress_ports as [443]
	"THOTH-AWS-SG-004" in ids(results)
}

test_sg_004_range_partly_outside_allow_list if {
	results := sg.warn_sg_port_open with data.thoth.public_ingress_ports as [80, 443] with input as sg_with([{"from_port": 80, "to_port": 1024, "protocol": "tcp", "cidr_blocks": ["0.0.0.0/0"]}])
	"THOTH-AWS-SG-004" in ids(results)
}

test_sg_004_private_port_passes if {
	count(sg.warn_sg_port_open) == 0 with data.thoth.public_ingress_ports as [80, 443] with input as sg_with([{"from_port": 5432, "to_port": 5432, "protocol": "tcp", "security_groups": ["${aws_security_group.app.id}"]}])
}

# --- shapes and robustness ---

test_conftest_shape_and_plan if {
	conftest := {"resource": {"aws_security_group": {"web": [{"ingress": [{"from_port": 22, "to_port": 22, "protocol": "tcp", "cidr_blocks": ["0.0.0.0/0"]}]}]}}}
	"THOTH-AWS-SG-001" in ids(sg.deny_sg_ssh_open) with data.thoth.public_ingress_ports as [80, 443] with input as conftest
	plan := {"format_version": "1.2", "resource_changes": [{
		"address": "aws_security_group.web",
		"mode": "managed",
		"type": "aws_security_group",
		"name": "web",
		"change": {"actions": ["create"], "after": {"ingress": [{"from_port": 3389, "to_port": 3389, "protocol": "tcp", "cidr_blocks": ["0.0.0.0/0"], "ipv6_cidr_blocks": []}]}},
	}]}
	"THOTH-AWS-SG-002" in ids(sg.deny_sg_rdp_open) with data.thoth.public_ingress_ports as [80, 443] with input as plan
}

test_expression_cidrs_do_not_error if {
	doc := sg_with([{"from_port": 22, "to_port": 22, "protocol": "tcp", "cidr_blocks": "${var.allowed_cidrs}"}])
	count(sg.deny_sg_ssh_open) == 0 with data.thoth.public_ingress_ports as [80, 443] with input as doc
	count(sg.warn_sg_port_open) == 0 with data.thoth.public_ingress_ports as [80, 443] with input as doc
	count(sg.deny_sg_all_open) == 0 with data.thoth.public_ingress_ports as [80, 443] with input as {"kind": "Service", "apiVersion": "v1", "metadata": {"name": "x"}}
}

test_docs_cover_every_id if {
	every id in {"THOTH-AWS-SG-001", "THOTH-AWS-SG-002", "THOTH-AWS-SG-003", "THOTH-AWS-SG-004"} {
		sg.docs[id].title
		sg.docs[id].remediation
	}
}

test_default_public_ingress_ports if {
	sg.public_ingress_ports == [80, 443] with data.thoth.public_ingress_ports as null
}

# --- THOTH-AWS-SG-005 ---

test_sg_005_group_and_rule_without_description if {
	results := sg.warn_sg_description with input as {"resource": {
		"aws_security_group": {"web": {"name": "prod-shop-web"}, "db": {"name": "prod-shop-db", "description": ""}},
		"aws_security_group_rule": {"https": {"type": "ingress", "from_port": 443, "to_port": 443, "security_group_id": "${aws_security_group.web.id}"}},
	}}
	{r.resource | some r in results} == {"aws_security_group.web", "aws_security_group.db", "aws_security_group_rule.https"}
}

test_sg_005_described_group_passes if {
	count(sg.warn_sg_description) == 0 with input as {"resource": {"aws_security_group": {"web": {
		"name": "prod-shop-web",
		"description": "Web servers behind the load balancer",
	}}}}
}
