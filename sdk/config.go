package sdk

import (
	"context"

	"github.com/warrenhq/warren/core/proto"
)

// GetConfig returns the ensemble's configuration, the data of
// /zookeeper/config, with its Stat (Mzxid is the configuration's version,
// the fromConfig of Reconfig). As the Java client does, it reads the node
// with getData on the server path /zookeeper/config: the chroot never
// applies.
func (c *Conn) GetConfig(ctx context.Context) ([]byte, Stat, error) {
	d, st, _, err := c.getConfig(ctx, false)
	return d, st, err
}

// GetConfigW is GetConfig plus a one-shot data watch on /zookeeper/config:
// it receives one event whose Path is "/zookeeper/config" whatever the
// chroot. Without a chroot it is an ordinary data watch on that path
// (RemoveWatches with WatcherData or WatcherAny removes it); under a chroot
// RemoveWatches cannot name it.
func (c *Conn) GetConfigW(ctx context.Context) ([]byte, Stat, <-chan Event, error) {
	return c.getConfig(ctx, true)
}

func (c *Conn) getConfig(ctx context.Context, watch bool) ([]byte, Stat, <-chan Event, error) {
	kind := kindData
	if c.chroot != "" {
		kind = kindConfig
	}
	var resp proto.GetDataResponse
	ch, hook := c.oneShot(configPath, kind, watch)
	if err := c.do(ctx, proto.OpGetData, configPath, &proto.GetDataRequest{Path: configPath, Watch: watch}, &resp, hook); err != nil {
		return nil, Stat{}, nil, err
	}
	return resp.Data, resp.Stat, ch, nil
}

// Reconfig changes the ensemble's membership (reconfig, opcode 16) and
// returns the new configuration with its Stat. An incremental change gives
// joining and/or leaving (comma-separated "server.N=host:quorumPort:
// electionPort[:role];[clientHost:]clientPort" specs, and server ids); a
// bulk change gives newMembers instead. Empty strings are sent as absent.
// fromConfig is the configuration version the change applies to (the
// Mzxid of /zookeeper/config), or -1 for no check.
//
// The server requires reconfigEnabled (else ErrReconfigDisabled), WRITE
// permission on /zookeeper/config, and a quorum-based ensemble (a
// standalone ZooKeeper answers ErrUnimplemented when reconfiguration is
// enabled); ErrBadVersion reports a stale fromConfig, ErrNewConfigNoQuorum
// a new configuration whose voters are not in sync with the leader, and
// ErrReconfigInProgress a concurrent change.
func (c *Conn) Reconfig(ctx context.Context, joining, leaving, newMembers string, fromConfig int64) ([]byte, Stat, error) {
	req := &proto.ReconfigRequest{JoiningServers: joining, LeavingServers: leaving, NewMembers: newMembers, CurConfigID: fromConfig}
	var resp proto.GetDataResponse
	if err := c.do(ctx, proto.OpReconfig, "", req, &resp, nil); err != nil {
		return nil, Stat{}, err
	}
	return resp.Data, resp.Stat, nil
}
