package main

// go-redis is used by the tests here and elsewhere in the module; the blank
// import keeps it required in go.mod whatever the other tests import.
import _ "github.com/redis/go-redis/v9"
