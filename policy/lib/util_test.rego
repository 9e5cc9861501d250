package thoth.lib.util_test

import rego.v1

import data.thoth.lib.util

test_type_safe_helpers if {
	util.arr([1]) == [1]
	util.arr("x") == []
	util.obj({"a": 1}) == {"a": 1}
	util.obj(null) == {}
	util.list({"a": 1}) == [{"a": 1}]
	util.list([{"a": 1}]) == [{"a": 1}]
	util.list("${x}") == []
	util.strings("s3:GetObject") == ["s3:GetObject"]
	util.strings(["a", 1, "b"]) == ["a", "b"]
	util.strings(null) == []
	util.get({"a": 1}, "a", 0) == 1
	util.get([], "a", 0) == 0
	util.str({"a": "x"}, "a") == "x"
	util.str({"a": 1}, "a") == ""
	util.number(22) == 22
	util.number("22") == 22
	not util.number("${var.port}")
	util.string_list(["a", 1], []) == ["a"]
	util.string_list("a", ["d"]) == ["d"]
}

test_literals_and_expressions if {
	util.is_literal_string("hunter2")
	not util.is_literal_string("")
	not util.is_literal_string("  ")
	not util.is_literal_string("${var.password}")
	not util.is_literal_string("prefix-${var.x}")
	not util.is_literal_string(true)
	util.is_expression("${var.x}")
	not util.is_expression("x")
	util.is_true(true)
	util.is_true("true")
	not util.is_true("yes")
	util.is_false(false)
}
