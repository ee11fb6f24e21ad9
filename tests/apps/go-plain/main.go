// go-plain: the standard library only.
package main

import (
	"fmt"
	"log"
	"net/http"
	"os"
	"runtime"
)

func main() {
	port := os.Getenv("PORT")
	if port == "" {
		port = "5000"
	}
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "go-plain answers %s from %s\n", r.URL.Path, runtime.Version())
	})
	log.Printf("go-plain listening on %s", port)
	log.Fatal(http.ListenAndServe(":"+port, nil))
}
