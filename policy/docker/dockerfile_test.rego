package thoth.docker.dockerfile_test

import rego.v1

import data.thoth.docker.dockerfile as df

ids(results) := {r.id | some r in results}

# Builds the conftest Dockerfile shape from (cmd, values) pairs, numbering stages and lines.
instr(cmd, values, stage, line) := {
	"Cmd": cmd,
	"Value": values,
	"Flags": [],
	"Stage": stage,
	"SubCmd": "",
	"JSON": false,
	"Original": sprintf("%s %s", [upper(cmd), concat(" ", values)]),
	"Line": line,
}

multi_stage_clean := [
	instr("from", ["golang:1.22.5", "AS", "build"], 0, 1),
	instr("run", ["go build -o /out/app ./cmd/app"], 0, 2),
	instr("from", ["gcr.io/distroless/static-debian12@sha256:3f1c4a9d2b7e8f0a1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b"], 1, 4),
	instr("copy", ["/out/app", "/app"], 1, 5),
	instr("user", ["65532:65532"], 1, 6),
	instr("entrypoint", ["/app"], 1, 7),
]

# --- THOTH-DOCKER-001 ---

test_docker_001_no_user_in_final_stage if {
	results := df.deny_root_user with input as [
		instr("from", ["python:3.12-slim"], 0, 1),
		instr("copy", [".", "/app"], 0, 2),
		instr("cmd", ["python /app/main.py"], 0, 3),
	]
	some r in results
	r.id == "THOTH-DOCKER-001"
	r.severity == "high"
	r.line == 1
	not r.resource
}

test_docker_001_last_user_root if {
	results := df.deny_root_user with input as [
		instr("from", ["python:3.12-slim"], 0, 1),
		instr("user", ["app"], 0, 2),
		instr("run", ["apt-get install -y curl"], 0, 3),
		instr("user", ["root:root"], 0, 4),
	]
	some r in results
	r.line == 4
	contains(r.msg, "root:root")
}

test_docker_001_user_only_in_build_stage if {
	results := df.deny_root_user with input as [
		instr("from", ["node:20.15.0", "AS", "deps"], 0, 1),
		instr("user", ["node"], 0, 2),
		instr("from", ["node:20.15.0-slim"], 1, 4),
		instr("copy", ["--from=deps", "/app", "/app"], 1, 5),
	]
	some r in results
	r.line == 4
}

test_docker_001_uid_zero if {
	"THOTH-DOCKER-001" in ids(df.deny_root_user) with input as [instr("from", ["alpine:3.20"], 0, 1), instr("user", ["0"], 0, 2)]
}

test_docker_001_non_root_final_user_passes if {
	count(df.deny_root_user) == 0 with input as multi_stage_clean
	count(df.deny_root_user) == 0 with input as [
		instr("from", ["python:3.12-slim"], 0, 1),
		instr("user", ["root"], 0, 2),
		instr("run", ["pip install -r requirements.txt"], 0, 3),
		instr("user", ["10001"], 0, 4),
	]
}

# --- THOTH-DOCKER-002 ---

test_docker_002_no_tag if {
	results := df.deny_unpinned_base_image with input as [instr("from", ["ubuntu"], 0, 1), instr("user", ["app"], 0, 2)]
	some r in results
	r.id == "THOTH-DOCKER-002"
	r.severity == "medium"
	r.line == 1
}

test_docker_002_latest_in_build_stage if {
	results := df.deny_unpinned_base_image with input as [
		instr("from", ["node:latest", "as", "build"], 0, 1),
		instr("from", ["nginx:1.27-alpine"], 1, 3),
	]
	count(results) == 1
	some r in results
	contains(r.msg, "node:latest")
}

test_docker_002_private_registry_without_tag if {
	"THOTH-DOCKER-002" in ids(df.deny_unpinned_base_image) with input as [instr("from", ["registry.acme.internal:5000/base/python"], 0, 1)]
}

test_docker_002_pinned_scratch_stages_and_args_pass if {
	count(df.deny_unpinned_base_image) == 0 with input as multi_stage_clean
	count(df.deny_unpinned_base_image) == 0 with input as [
		instr("arg", ["BASE", "python:3.12-slim"], 0, 1),
		instr("from", ["${BASE}"], 0, 2),
		instr("from", ["golang:1.22.5", "AS", "Build"], 1, 3),
		instr("from", ["build"], 2, 4),
		instr("from", ["scratch"], 3, 5),
		instr("from", ["nginx@sha256:3f1c4a9d2b7e8f0a1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b"], 4, 6),
	]
}

test_docker_002_stage_name_used_before_declared_is_an_image if {
	# `FROM build` before any stage named build refers to an image called "build"
	"THOTH-DOCKER-002" in ids(df.deny_unpinned_base_image) with input as [
		instr("from", ["build"], 0, 1),
		instr("from", ["golang:1.22.5", "AS", "build"], 1, 2),
	]
}

test_other_documents_are_ignored if {
	count(df.deny_root_user) == 0 with input as {"resource": {"aws_s3_bucket": {"b": {}}}}
	count(df.deny_root_user) == 0 with input as []
	count(df.deny_unpinned_base_image) == 0 with input as [1, 2]
	count(df.deny_root_user) == 0 with input as [{"name": "x"}]
}

test_docs_cover_every_id if {
	every id in {"THOTH-DOCKER-001", "THOTH-DOCKER-002"} {
		df.docs[id].remediation
	}
}
