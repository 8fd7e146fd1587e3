package sdk

import (
	"context"
	"errors"
	"fmt"
)

// ParentMode says whether Create makes a node's missing ancestors.
type ParentMode int

const (
	// ParentsNone creates no ancestors: a missing parent fails the create
	// with ErrNoNode (ZooKeeper's own behaviour).
	ParentsNone ParentMode = iota
	// ParentsPersistent creates missing ancestors as persistent nodes
	// (Curator's creatingParentsIfNeeded).
	ParentsPersistent
	// ParentsContainer creates missing ancestors as container nodes, which
	// the server deletes once they are empty again (Curator's
	// creatingParentContainersIfNeeded). Use it for parents that exist
	// only to hold ephemeral or short-lived children: registrations,
	// locks, queues.
	ParentsContainer
)

// maxParentRounds bounds how often Create recreates a parent that vanished
// again (a reaped container) before the node could be created in it.
const maxParentRounds = 5

// createParents creates the missing ancestors of path with o's ParentMode
// and ParentACL, bottom up: the parent first, and its own parents only if
// it is missing them too, so that a deep path whose upper levels exist
// costs one write per missing level (Curator checks each level from the
// top). An ancestor someone else creates meanwhile is fine.
func (c *Conn) createParents(ctx context.Context, path string, o CreateOptions) error {
	dir := parent(path)
	if dir == "/" {
		return nil
	}
	mode := ModePersistent
	if o.Parents == ParentsContainer {
		mode = ModeContainer
	}
	_, _, err := c.Create(ctx, dir, nil, CreateOptions{Mode: mode, ACL: o.ParentACL, Parents: o.Parents, ParentACL: o.ParentACL})
	if err != nil && !errors.Is(err, ErrNodeExists) {
		return fmt.Errorf("sdk: create %s: parent: %w", path, err)
	}
	return nil
}

// DeleteAll deletes path and every node below it, children before their
// parents (Curator's deletingChildrenIfNeeded, zkCli's deleteall). Nodes
// that others delete meanwhile are skipped; a node that gains a child
// meanwhile is emptied again. It returns ErrNoNode if path does not exist
// when it starts, and stops at the first other error (ErrNoAuth, a lost
// connection...), having deleted what it could: it is not atomic.
func (c *Conn) DeleteAll(ctx context.Context, path string) error {
	if err := validatePath(path, false); err != nil {
		return err
	}
	err := c.deleteTree(ctx, path)
	if errors.Is(err, errGone) {
		return fmt.Errorf("sdk: deleteall %s: %w", path, ErrNoNode)
	}
	return err
}

// errGone says deleteTree found its node missing before it deleted
// anything itself.
var errGone = errors.New("node gone")

func (c *Conn) deleteTree(ctx context.Context, path string) error {
	for attempt := 1; ; attempt++ {
		kids, _, err := c.Children(ctx, path)
		if errors.Is(err, ErrNoNode) {
			if attempt == 1 {
				return errGone
			}
			return nil
		}
		if err != nil {
			return err
		}
		prefix := path
		if prefix == "/" {
			prefix = ""
		}
		for _, k := range kids {
			if err := c.deleteTree(ctx, prefix+"/"+k); err != nil && !errors.Is(err, errGone) {
				return err
			}
		}
		err = c.Delete(ctx, path, -1)
		switch {
		case err == nil, errors.Is(err, ErrNoNode):
			return nil
		case errors.Is(err, ErrNotEmpty) && attempt < maxParentRounds:
			continue // a child was added meanwhile
		}
		return err
	}
}
