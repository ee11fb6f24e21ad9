// go-vendored: a dependency from vendor/ (built with -mod=vendor), a second main package in
// cmd/shout-cli, and the root package as the web process.
package main

import (
	"fmt"
	"net/http"
	"os"

	"example.com/shout"
)

func main() {
	port := os.Getenv("PORT")
	if port == "" {
		port = "5000"
	}
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, shout.Shout("go-vendored with a vendored module"))
	})
	if err := http.ListenAndServe(":"+port, nil); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
