package formats

import rego.v1

test_yaml_text if {
	parse_config("yaml", "a: 1\nb: [x, null]\n") == {"a": 1, "b": ["x", null]}
}

test_yaml_documents_are_an_array if {
	parse_config("yaml", "a: 1\n---\nb: 2\n") == [{"a": 1}, {"b": 2}]
}

test_json_text if {
	parse_config("json", `{"k": [1, 2.5, true]}`) == {"k": [1, 2.5, true]}
}

test_hcl2_file_is_the_gate_input if {
	cfg := parse_config_file("fixtures/open.tf")
	cfg.resource.aws_security_group.web.ingress[0].from_port == 22
	deny == {"security group web is open to the internet"} with input as cfg
}

test_hcl2_text_and_file_agree if {
	parse_config("hcl2", "resource \"aws_security_group\" \"web\" {\n  ingress {\n    from_port   = 22\n    to_port     = 22\n    protocol    = \"tcp\"\n    cidr_blocks = [\"0.0.0.0/0\"]\n  }\n}\n") == parse_config_file("fixtures/open.tf")
}

test_dockerfile_file_with_data if {
	cfg := parse_config_file("fixtures/Dockerfile")
	cfg[0].Cmd == "from"
	cfg[1].Value == ["app"]
	deny == {"base image docker.io/alpine:3 is not from ghcr.io/acme/"} with input as cfg
}

test_dockerfile_text if {
	parse_config("dockerfile", "FROM ghcr.io/acme/base:1\n")[0].Value == ["ghcr.io/acme/base:1"]
}

test_combined_files if {
	combined := parse_combined_config_files(["fixtures/open.tf", "fixtures/Dockerfile"])
	[c.path | some c in combined] == ["fixtures/open.tf", "fixtures/Dockerfile"]
	combined[0].contents == parse_config_file("fixtures/open.tf")
}
