// Package buildinfo carries the version stamped into the binary at build
// time (make build sets it with -ldflags -X).
package buildinfo

import "runtime/debug"

// Version and Commit are set by the linker; they default to what the Go
// toolchain recorded, or "dev".
var (
	Version = "dev"
	Commit  = ""
)

// CommitOrVCS returns Commit, falling back to the VCS revision Go embedded.
func CommitOrVCS() string {
	if Commit != "" {
		return Commit
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 7 {
				return s.Value[:7]
			}
		}
	}
	return "unknown"
}
