package testutil

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

var (
	// zxidLine matches the zxid lines of zkCli's Stat printout.
	zxidLine = regexp.MustCompile(`^(cZxid|mZxid|pZxid) = 0x([0-9a-fA-F]+)$`)
	// timeLine matches its time lines.
	timeLine = regexp.MustCompile(`^(ctime|mtime) = (.+)$`)
	// ownerLine matches its ephemeralOwner line.
	ownerLine = regexp.MustCompile(`^ephemeralOwner = 0x([0-9a-fA-F]+)$`)
	// builtOn matches the build date in zkCli's version line.
	builtOn = regexp.MustCompile(`built on .*$`)
	// bracketList matches a printed java.util.List: "[a, b]".
	bracketList = regexp.MustCompile(`^\[(.*)\]$`)
)

// epochTime is how zkCli prints a zero time (the Stat of /zookeeper/config).
const epochTime = "Thu Jan 01 00:00:00 UTC 1970"

// NormalizeCli rewrites, in a copy of steps, what legitimately differs
// between two servers that ran the same script:
//
//   - zxids (cZxid, mZxid, pZxid) become ranks, "z1", "z2", ... in numeric
//     order over all steps, so equality and order survive but absolute
//     values (epochs, session-creation txns) do not matter; 0x0 stays;
//   - ctime and mtime become "<time>" (the zero time stays);
//   - session ids in ephemeralOwner become "s1", "s2", ... in order of first
//     appearance; 0x0 and the container/TTL markers (top byte 0x80, 0xff)
//     stay;
//   - lists whose order ZooKeeper leaves unspecified are sorted: the
//     getEphemerals list, whoami's identities, the events of deleteall
//     (which deletes in the server's child order) and of removewatches
//     (which the client generates itself, in hash order);
//   - the client build date in the version command's output.
//
// Steps from several zkCli sessions may be normalized together so that zxids
// and session ids are comparable across sessions.
func NormalizeCli(steps []CliStep) []CliStep {
	zxids := map[uint64]bool{}
	for _, s := range steps {
		for _, l := range s.Output {
			if m := zxidLine.FindStringSubmatch(l); m != nil {
				if v, err := strconv.ParseUint(m[2], 16, 64); err == nil && v != 0 {
					zxids[v] = true
				}
			}
		}
	}
	ordered := make([]uint64, 0, len(zxids))
	for v := range zxids {
		ordered = append(ordered, v)
	}
	slices.Sort(ordered)
	zxidRank := make(map[uint64]int, len(ordered))
	for i, v := range ordered {
		zxidRank[v] = i + 1
	}
	sessions := map[uint64]int{}

	out := make([]CliStep, len(steps))
	for i, s := range steps {
		n := CliStep{Cmd: s.Cmd, Output: make([]string, len(s.Output)), Events: slices.Clone(s.Events)}
		for j, l := range s.Output {
			n.Output[j] = normalizeLine(l, zxidRank, sessions)
		}
		switch strings.Fields(s.Cmd + " x")[0] {
		case "getEphemerals":
			for j, l := range n.Output {
				n.Output[j] = sortBracketList(l)
			}
		case "whoami":
			if len(n.Output) > 1 && n.Output[0] == "Auth scheme: User" {
				slices.Sort(n.Output[1:])
			}
		case "deleteall", "removewatches":
			slices.Sort(n.Events)
		case "version":
			for j, l := range n.Output {
				n.Output[j] = builtOn.ReplaceAllString(l, "built on <date>")
			}
		}
		out[i] = n
	}
	return out
}

func normalizeLine(l string, zxidRank map[uint64]int, sessions map[uint64]int) string {
	if m := zxidLine.FindStringSubmatch(l); m != nil {
		v, err := strconv.ParseUint(m[2], 16, 64)
		if err != nil || v == 0 {
			return l
		}
		return fmt.Sprintf("%s = z%d", m[1], zxidRank[v])
	}
	if m := timeLine.FindStringSubmatch(l); m != nil {
		if m[2] == epochTime {
			return l
		}
		return m[1] + " = <time>"
	}
	if m := ownerLine.FindStringSubmatch(l); m != nil {
		v, err := strconv.ParseUint(m[1], 16, 64)
		if err != nil || v == 0 {
			return l
		}
		if top := v >> 56; top == 0x80 || top == 0xff {
			return l
		}
		if _, ok := sessions[v]; !ok {
			sessions[v] = len(sessions) + 1
		}
		return fmt.Sprintf("ephemeralOwner = s%d", sessions[v])
	}
	return l
}

func sortBracketList(l string) string {
	m := bracketList.FindStringSubmatch(l)
	if m == nil || m[1] == "" {
		return l
	}
	items := strings.Split(m[1], ", ")
	slices.Sort(items)
	return "[" + strings.Join(items, ", ") + "]"
}
