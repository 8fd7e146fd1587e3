package main

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// Set at build time:
//
//	go build -ldflags "-X main.version=1.0.0 -X main.commit=$(git rev-parse HEAD)" ./cmd/warren
var (
	version = "dev"
	commit  = ""
)

// buildInfo is what `warren version` reports.
type buildInfo struct {
	Version   string
	Commit    string
	GoVersion string
	Platform  string
}

// currentBuild reports the linked-in version. Without -X main.commit the
// commit comes from the VCS stamp Go embeds (go build -buildvcs), else
// "unknown".
func currentBuild() buildInfo {
	b := buildInfo{
		Version:   version,
		Commit:    commit,
		GoVersion: runtime.Version(),
		Platform:  runtime.GOOS + "/" + runtime.GOARCH,
	}
	if b.Commit == "" {
		if info, ok := debug.ReadBuildInfo(); ok {
			for _, s := range info.Settings {
				if s.Key == "vcs.revision" {
					b.Commit = s.Value
				}
			}
		}
	}
	if b.Commit == "" {
		b.Commit = "unknown"
	}
	return b
}

func writeVersion(w io.Writer, b buildInfo) error {
	_, err := fmt.Fprintf(w, "Warren version: %s\nGit commit: %s\nGo version: %s\nPlatform: %s\n",
		b.Version, b.Commit, b.GoVersion, b.Platform)
	return err
}

func (a *app) versionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version, git commit and Go version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return writeVersion(cmd.OutOrStdout(), currentBuild())
		},
	}
}

// cliVersion is the version `warren cli`'s version command reports:
// "<version>-<short commit>", the same build `warren version` describes.
func cliVersion(b buildInfo) string {
	c := b.Commit
	if c == "unknown" {
		return b.Version
	}
	if len(c) > 12 {
		c = c[:12]
	}
	return b.Version + "-" + c
}
