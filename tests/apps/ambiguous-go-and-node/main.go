// ambiguous-go-and-node: a Go app that also has a package.json (front-end tooling, say).
// Go is a compiled ecosystem, so its buildpack comes before Node.js's in detection order.
package main

import (
	"fmt"
	"log"
	"net/http"
	"os"
)

func main() {
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "Go wins over a package.json")
	})
	log.Fatal(http.ListenAndServe(":"+os.Getenv("PORT"), nil))
}
