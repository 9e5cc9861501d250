package main

import rego.v1

deny_public contains msg if {
	input.buckets[name].acl == "public-read"
	msg := sprintf("bucket %s is public", [name])
}

deny_unencrypted contains msg if {
	b := input.buckets[name]
	not b.encrypted
	msg := sprintf("bucket %s is not encrypted", [name])
}

warn contains "more than one bucket" if count(input.buckets) > 1

exception contains rules if {
	input.buckets.logs
	rules := ["public"]
}
