package main

import rego.v1

violation := [{"msg": "array item", "details": {}}, "second item"] if input.kind == "Deployment"

deny_single := {"msg": "single object"} if input.kind == "Deployment"

deny := "single string" if input.kind == "Deployment"

warn_set := {"w"} if input.kind == "Deployment"

deny_never := ["not reported"] if input.kind == "Service"
