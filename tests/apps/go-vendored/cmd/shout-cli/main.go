// shout-cli: a second main package, built into bin/ next to the web binary.
package main

import (
	"fmt"
	"os"
	"strings"

	"example.com/shout"
)

func main() { fmt.Println(shout.Shout(strings.Join(os.Args[1:], " "))) }
