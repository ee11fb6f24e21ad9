module example.com/go-vendored

go 1.21

require example.com/shout v1.2.0
