package main

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
)

// version is set at build time with -ldflags "-X main.version=v1.2.3";
// otherwise the module version or VCS revision recorded by the Go toolchain
// is shown.
var version = ""

func versionString() string {
	return fmt.Sprintf("shardis %s %s %s/%s", release(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

// release is the Shardis version alone, the one every part reports (the
// version command, a proxy's INFO).
func release() string {
	v := version
	if info, ok := debug.ReadBuildInfo(); ok && v == "" {
		v = info.Main.Version
		for _, s := range info.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 && (v == "" || v == "(devel)") {
				v = "devel-" + s.Value[:12]
			}
		}
	}
	if v == "" {
		v = "(devel)"
	}
	return v
}

func versionCommand() subcommand {
	c := subcommand{
		name:    "version",
		summary: "print the version",
		about:   "Prints the Shardis version, the Go version and the platform.",
	}
	c.run = func(_ context.Context, args []string, stdout, stderr io.Writer) int {
		if len(args) > 0 {
			if args[0] == "-h" || args[0] == "-help" || args[0] == "--help" {
				printCommandUsage(stdout, c)
				return exitOK
			}
			fmt.Fprintf(stderr, "shardis version: unexpected argument %q\n\n", args[0])
			printCommandUsage(stderr, c)
			return exitUsage
		}
		fmt.Fprintln(stdout, versionString())
		return exitOK
	}
	return c
}
