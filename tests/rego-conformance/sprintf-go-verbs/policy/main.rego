package main

import rego.v1

# Go fmt corners regorus's sprintf does not reproduce (see known-divergences.txt).
warn_octal contains sprintf("%o", [8])

warn_flags contains sprintf("|%-4s|", ["ab"])

warn_exponent contains sprintf("%e", [1234.5])

warn_bad_verb contains sprintf("%t %.2f", [true, 2])
