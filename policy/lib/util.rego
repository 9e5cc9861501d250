# Small type-safe helpers shared by the thoth policy library.
#
# regorus (the engine thoth-bot embeds) raises an error, instead of making the expression
# undefined as OPA does, when a builtin gets an argument of the wrong type (`startswith(5, "a")`,
# `object.get([], "k", 0)`, `some x in "text"`, `json.unmarshal("not json")`), and one error fails
# every rule of the package for that input. Every policy therefore goes through these helpers
# whenever a value's type is not guaranteed: Terraform attributes may be `"${...}"` expression text,
# YAML documents may be anything, conftest-shape collections may be strings.
package thoth.lib.util

import rego.v1

# NOTE: a function called with an undefined argument is undefined, it does not get its
# fallback: `obj(input.missing)` is undefined, not {}. For optional fields use
# `get(x, "field", default)`, which also tolerates a non-object x.

# x if it is an array, else [] (so `some v in arr(x)` never errors).
arr(x) := x if {
	is_array(x)
} else := []

# x if it is an object, else {}.
obj(x) := x if {
	is_object(x)
} else := {}

# A list from a value that may be one object or a list of them (object shape vs conftest shape,
# IAM `Statement` as one object or a list).
list(x) := x if {
	is_array(x)
} else := [x] if {
	is_object(x)
} else := []

# A list of strings from a string or a list (IAM `Action`, `Resource`).
strings(x) := [s | some s in x; is_string(s)] if {
	is_array(x)
} else := [x] if {
	is_string(x)
} else := []

# object.get that tolerates a non-object receiver.
get(x, key, fallback) := object.get(x, key, fallback) if {
	is_object(x)
} else := fallback

# A string attribute, or "" when absent or not a string.
str(x, key) := v if {
	is_object(x)
	v := x[key]
	is_string(v)
} else := ""

# True for a string that still holds an unevaluated Terraform expression or template.
is_expression(s) if {
	is_string(s)
	contains(s, "${")
}

# A literal, non-empty string (no `${...}` anywhere in it).
is_literal_string(s) if {
	is_string(s)
	trim_space(s) != ""
	not contains(s, "${")
}

# Lowercased string, "" for anything else.
lower_str(s) := lower(s) if {
	is_string(s)
} else := ""

# A number from a number or a numeric string ("22"), undefined otherwise.
number(x) := x if {
	is_number(x)
} else := to_number(x) if {
	is_string(x)
	regex.match(`^-?[0-9]+$`, x)
}

# A value that is literally true (bool true or the string "true").
is_true(x) if x == true

is_true(x) if x == "true"

# A value that is literally false.
is_false(x) if x == false

is_false(x) if x == "false"

# The list of strings configured under data.thoth.<key>, or the fallback when the key is absent
# or not a list. Callers pass `data.thoth.<key>` through a `default` rule, see the policies.
string_list(x, fallback) := [s | some s in x; is_string(s)] if {
	is_array(x)
} else := fallback
