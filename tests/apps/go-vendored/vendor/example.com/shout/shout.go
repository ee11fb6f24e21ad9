// Package shout is a vendored dependency of the go-vendored sample app (no Go proxy here).
package shout

import "strings"

// Shout upper-cases s and adds an exclamation mark.
func Shout(s string) string { return strings.ToUpper(s) + "!" }
