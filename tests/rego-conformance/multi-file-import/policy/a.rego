package main
import rego.v1
import data.kubernetes
deny contains "a" if { true }
