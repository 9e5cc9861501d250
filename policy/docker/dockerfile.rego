# Dockerfile hygiene (conftest's Dockerfile input: a list of {Cmd, Value, Flags, Stage, Line}).
#
#   THOTH-DOCKER-001  the final stage runs as root: no USER instruction in it, or its last USER
#                     is root / 0 (with or without a group)
#   THOTH-DOCKER-002  a base image is not pinned: no tag, or `latest`, and no `@sha256:` digest.
#                     `FROM scratch`, references to earlier build stages (`FROM build`) and
#                     images given by build arguments (`FROM ${BASE}`) are not reported.
# Results carry `line`, the line of the offending instruction.
package thoth.docker.dockerfile

import rego.v1

import data.thoth.lib.images as img
import data.thoth.lib.util

docs := {
	"THOTH-DOCKER-001": {
		"title": "Container runs as root",
		"description": "The final stage of the Dockerfile has no `USER` instruction, or its last `USER` is root. The container's processes then run as UID 0, so an application compromise gets root inside the container and a much easier path to the host.",
		"remediation": "Create an unprivileged user and switch to it at the end of the final stage, e.g. `RUN useradd --uid 10001 --no-create-home app` then `USER 10001`, or use a `:nonroot` base image and still state `USER nonroot` explicitly.",
	},
	"THOTH-DOCKER-002": {
		"title": "Base image not pinned",
		"description": "A `FROM` line uses an image without a tag or with `latest`: builds are not reproducible and silently pick up new (possibly broken or compromised) base images.",
		"remediation": "Pin a version tag (`python:3.12.4-slim`) and preferably its digest (`python:3.12.4-slim@sha256:...`); let Renovate / Dependabot propose updates.",
	},
}

is_dockerfile if {
	is_array(input)
	count(input) > 0
	every instr in input {
		is_object(instr)
		is_string(instr.Cmd)
	}
	some instr in input
	instr.Cmd == "from"
}

instructions := [instr | some instr in input; is_object(instr)] if is_dockerfile

final_stage := max([s | some instr in instructions; s := util.get(instr, "Stage", 0); is_number(s)])

froms := [instr | some instr in instructions; instr.Cmd == "from"]

# --- THOTH-DOCKER-001 ---------------------------------------------------------------------------

final_users := [instr |
	some instr in instructions
	instr.Cmd == "user"
	util.get(instr, "Stage", 0) == final_stage
]

root_user(u) if {
	name := lower(split(u, ":")[0])
	name in {"root", "0"}
}

final_from := [f | some f in froms; util.get(f, "Stage", 0) == final_stage][0]

line_of(instr) := instr.Line if {
	is_number(instr.Line)
} else := 0

deny_root_user contains result if {
	is_dockerfile
	count(final_users) == 0
	result := {
		"msg": sprintf("the final stage (%s) has no USER instruction, so the container runs as root", [util.get(final_from, "Original", "FROM ...")]),
		"id": "THOTH-DOCKER-001",
		"severity": "high",
		"line": line_of(final_from),
	}
}

deny_root_user contains result if {
	is_dockerfile
	count(final_users) > 0
	last := final_users[count(final_users) - 1]
	user := util.strings(last.Value)[0]
	root_user(user)
	result := {
		"msg": sprintf("the final stage switches to USER %s on line %v: the container runs as root", [user, line_of(last)]),
		"id": "THOTH-DOCKER-001",
		"severity": "high",
		"line": line_of(last),
	}
}

# --- THOTH-DOCKER-002 ---------------------------------------------------------------------------

# Stage names declared before a FROM (`FROM golang:1.22 AS build`), lowercase.
stage_names_before(stage) := {lower(values[2]) |
	some f in froms
	util.get(f, "Stage", 0) < stage
	values := util.strings(f.Value)
	count(values) >= 3
	lower(values[1]) == "as"
}

image_problem(image) := "has no tag" if {
	not img.has_digest(image)
	img.tag(image) == ""
} else := "uses the latest tag" if {
	not img.has_digest(image)
	img.tag(image) == "latest"
}

deny_unpinned_base_image contains result if {
	some f in froms
	image := util.strings(f.Value)[0]
	lower(image) != "scratch"
	not contains(image, "$")
	not lower(image) in stage_names_before(util.get(f, "Stage", 0))
	problem := image_problem(image)
	result := {
		"msg": sprintf("base image %q on line %v %s: pin a version (and digest)", [image, line_of(f), problem]),
		"id": "THOTH-DOCKER-002",
		"severity": "medium",
		"line": line_of(f),
	}
}
