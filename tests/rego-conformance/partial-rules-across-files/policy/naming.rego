package lib.naming

import rego.v1

prefix := "acme-"

valid(name) if startswith(name, prefix)
