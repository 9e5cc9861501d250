package builtins

import rego.v1

deny contains msg if {
	some c in input.containers
	endswith(c.image, ":latest")
	msg := sprintf("%s: image %q uses latest", [c.name, c.image])
}

deny contains msg if {
	some c in input.containers
	not regex.match(`^[a-z0-9.-]+\.io/`, c.image)
	msg := sprintf("%s: registry of %s not allowed", [upper(c.name), c.image])
}

deny contains msg if {
	some c in input.containers
	glob.match("*.azurecr.io/**", ["/"], c.image)
	parts := split(c.image, "/")
	msg := concat(" ", ["acr image", parts[0], trim_prefix(c.image, concat("", [parts[0], "/"]))])
}

warn contains msg if {
	some c in input.containers
	[repo, tag] := split(c.image, ":")
	contains(repo, "-")
	msg := sprintf("%s %s %d %v", [replace(repo, "-", "_"), lower(tag), count(tag), indexof(repo, "-")])
}

warn contains msg if {
	s := json.marshal(input.labels)
	back := json.unmarshal(s)
	back.team
	msg := sprintf("labels as JSON: %s (%d keys)", [s, count(back)])
}

warn_format contains sprintf("%x %b %5d %.3f %s %v %d", [255, 5, 42, 3.14159, "ab", [1, "a"], -7])

warn_strings contains msg if {
	msg := concat("|", [
		format_int(255, 16), trim(" -x- ", " -"), trim_space("  a b "), substring("abcdef", 1, 3),
		strings.replace_n({"a": "1", "b": "2"}, "abcab"), sprintf("%v", [split("a,b,,c", ",")]),
		sprintf("%v", [regex.find_n(`[0-9]+`, "a1b22c333", -1)]), sprintf("%v", [regex.split(`\s+`, "a  b c")]),
		sprintf("%v", [to_number("1.5") * 2]), sprintf("%v", [startswith("abc", "ab")]), sprintf("%v", [base64.encode("hi")]),
		sprintf("%v", [strings.reverse("abc")]), sprintf("%v", [object.keys({"b": 1, "a": 2})]),
	])
}
