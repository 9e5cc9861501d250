package main
import rego.v1
import data.kubernetes
deny contains "b" if { kubernetes.is_deployment }
