package config

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
)

// MyIDFile is the name of the file under dataDir that holds a quorum
// member's server id, as in ZooKeeper.
const MyIDFile = "myid"

// Distributed reports whether the configuration describes an ensemble
// member rather than a standalone server, decided as ZooKeeper 3.8's
// QuorumPeerConfig.isDistributed does: there are server.N lines, and either
// standaloneEnabled is false or more than one of them is a participant. A
// zoo.cfg with a single participant line (HBase writes one) and
// standaloneEnabled=true (the default) runs standalone.
func (c *Config) Distributed() bool {
	if len(c.Servers) == 0 {
		return false
	}
	return !c.StandaloneEnabled || c.participants() > 1
}

// Self returns the server.N entry whose N is ServerID, and whether there is
// one.
func (c *Config) Self() (Server, bool) {
	for _, s := range c.Servers {
		if s.ID == c.ServerID {
			return s, true
		}
	}
	return Server{}, false
}

func (c *Config) participants() int {
	n := 0
	for _, s := range c.Servers {
		if s.Role == RoleParticipant {
			n++
		}
	}
	return n
}

// serverIDs renders the ids of the server.N lines for messages: "1, 2, 3".
func (c *Config) serverIDs() string {
	ids := make([]string, len(c.Servers))
	for i, s := range c.Servers {
		ids[i] = strconv.FormatInt(s.ID, 10)
	}
	return strings.Join(ids, ", ")
}

// parseMyID reads a myid file's content as ZooKeeper does: the first line is
// a decimal server id. Unlike ZooKeeper (Long.parseLong on the raw line),
// blanks and blank lines around the id are allowed, since `echo 1 > myid`
// variants and editors add them; anything after the first line is ignored,
// as in ZooKeeper.
func parseMyID(content []byte) (int64, error) {
	s := strings.TrimSpace(string(content))
	if s == "" {
		return 0, errors.New("is empty")
	}
	line, _, _ := strings.Cut(s, "\n")
	line = strings.TrimSpace(line)
	id, err := strconv.ParseInt(line, 10, 64)
	if err != nil || id < 0 {
		return 0, fmt.Errorf("holds %q, which is not a server id (a non-negative decimal number)", line)
	}
	return id, nil
}

// finishEnsemble applies ZooKeeper 3.8's rules (QuorumPeerConfig's
// parseDynamicConfig, setupMyId, setupPeerType and checkValidity) once the
// server.N lines are known, and reads dataDir/myid:
//
//   - no server.N line: standalone; standaloneEnabled=false is an error;
//   - participants but only observers otherwise: checked by finishServers;
//   - one participant and standaloneEnabled=true: standalone (ZooKeeper logs
//     "only one server specified (ignoring)"); observers are then an error.
//     A myid present is checked but not used, and ServerID stays 0 as in
//     ZooKeeper's standalone server;
//   - otherwise an ensemble member: initLimit and syncLimit must be set, the
//     myid file must exist and hold one of the server.N ids, and the role in
//     that server's line wins over peerType (a warning when they differ).
//
// ZooKeeper itself reads myid only from the file; the ZOO_MYID variable of
// the official Docker image is its entrypoint script writing that file, so
// Warren does not read it either.
func (p *parser) finishEnsemble() {
	c := p.cfg
	if len(c.Servers) == 0 {
		if !c.StandaloneEnabled {
			p.failKey(p.final["standaloneEnabled"], "standaloneEnabled",
				"is false, but no server.N line lists a participant: add the ensemble's server.N lines, or remove standaloneEnabled=false to run standalone")
		}
		return
	}
	participants := c.participants()
	if participants == 0 {
		return // finishServers reported it
	}
	if !c.Distributed() {
		if participants < len(c.Servers) {
			p.errs = append(p.errs, &Error{File: p.file, Key: "server.N",
				Reason: "lists observers but a single participant, which runs standalone (standaloneEnabled=true), so the observers have no quorum to follow: list more participants or set standaloneEnabled=false"})
			return
		}
		p.warnings = append(p.warnings, Warning{Level: LevelWarn, File: p.file, Line: c.Servers[0].Line,
			Key:     "server." + strconv.FormatInt(c.Servers[0].ID, 10),
			Message: "is the only server listed; running standalone (set standaloneEnabled=false for a one-member ensemble)"})
		if c.DataDir != "" {
			if _, err := p.readMyID(false); err != nil {
				p.errs = append(p.errs, err)
			}
		}
		return
	}
	if c.InitLimit <= 0 {
		p.failKey(p.final["initLimit"], "initLimit", "is not set; an ensemble member needs it (in ticks, e.g. initLimit=10)")
	}
	if c.SyncLimit <= 0 {
		p.failKey(p.final["syncLimit"], "syncLimit", "is not set; an ensemble member needs it (in ticks, e.g. syncLimit=5)")
	}
	if c.DataDir == "" {
		return // reported by finish
	}
	id, err := p.readMyID(true)
	if err != nil {
		p.errs = append(p.errs, err)
		return
	}
	c.ServerID = id
	self, ok := c.Self()
	if !ok {
		p.errs = append(p.errs, &Error{File: p.myIDPath(),
			Reason: fmt.Sprintf("holds server id %d, which no server.N line of %s lists (ids: %s): write this server's N into it, or add a server.%d line",
				id, p.file, c.serverIDs(), id)})
		return
	}
	if e := p.final["peerType"]; e != nil && c.PeerType != self.Role {
		p.warn(LevelWarn, e, fmt.Sprintf("is %s, but this server's line (server.%d, line %d) says %s; using the server.N line, as ZooKeeper does",
			c.PeerType, id, self.Line, self.Role))
	}
	c.PeerType = self.Role
}

func (p *parser) myIDPath() string {
	return filepath.Join(p.cfg.DataDir, MyIDFile)
}

// readMyID reads and parses dataDir/myid. When the file does not exist the
// result is an error if required, else (0, nil).
func (p *parser) readMyID(required bool) (int64, error) {
	path := p.myIDPath()
	content, err := p.readFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			if !required {
				return 0, nil
			}
			return 0, &Error{File: path, Err: err,
				Reason: fmt.Sprintf("is missing: %s lists an ensemble (server ids %s), so this member needs its id here; write this server's N into it (echo N > %s)",
					p.file, p.cfg.serverIDs(), path)}
		}
		return 0, &Error{File: path, Reason: "cannot be read", Err: err}
	}
	id, err := parseMyID(content)
	if err != nil {
		return 0, &Error{File: path,
			Reason: fmt.Sprintf("%v: write this server's N into it, one of the server.N ids of %s (%s)", err, p.file, p.cfg.serverIDs())}
	}
	return id, nil
}
