# Equivalents of conftest's examples/kubernetes policies, used by tests/rego_conftest_cli.rs.
# OPA 1.x / conftest: deployment.yaml gives 4 failures (2 deny, 2 violation), service.yaml 1 warning.
package kubernetes

import rego.v1

is_service if input.kind == "Service"

is_deployment if input.kind == "Deployment"
