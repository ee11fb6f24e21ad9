module example.com/go-plain

go 1.19
