package recipe

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"path"
	"strings"
	"time"

	"github.com/warrenhq/warren/sdk"
)

// ProtectedPrefix starts the name of every node created in protected mode,
// as in Apache Curator: "_c_" + a random UUID + "-" + the requested name.
const ProtectedPrefix = "_c_"

// protectedHeadLen is the length of "_c_" + a canonical UUID + "-".
const protectedHeadLen = len(ProtectedPrefix) + 36 + 1

// NewProtectedID returns a random (version 4) UUID in its canonical text
// form, the identifier of one protected create.
func NewProtectedID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		// crypto/rand never fails on supported platforms.
		panic(fmt.Sprintf("recipe: crypto/rand: %v", err))
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// ProtectedName returns the protected form of a node name: "_c_<id>-name".
func ProtectedName(id, name string) string {
	return ProtectedPrefix + id + "-" + name
}

// IsProtected reports whether a node name has Curator's protected prefix:
// "_c_", a canonical UUID, "-", and at least one more character.
func IsProtected(name string) bool {
	_, ok := ProtectedID(name)
	return ok
}

// ProtectedID returns the UUID of a protected node name.
func ProtectedID(name string) (string, bool) {
	if len(name) <= protectedHeadLen || !strings.HasPrefix(name, ProtectedPrefix) || name[protectedHeadLen-1] != '-' {
		return "", false
	}
	id := name[len(ProtectedPrefix) : protectedHeadLen-1]
	if !rcpIsUUID(id) {
		return "", false
	}
	return id, true
}

// StripProtected removes the protected prefix from a node name, if it has
// one (Curator's ProtectedUtils.normalize).
func StripProtected(name string) string {
	if IsProtected(name) {
		return name[protectedHeadLen:]
	}
	return name
}

// rcpIsUUID checks the canonical 8-4-4-4-12 hexadecimal form.
func rcpIsUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
				return false
			}
		}
	}
	return true
}

// CreateProtected creates the node path in protected mode, as Curator's
// create().withProtection() does: the last path element becomes
// "_c_<uuid>-<name>" (before the sequence suffix in sequential modes).
// Missing ancestors are created as container nodes, as Curator's
// creatingParentContainersIfNeeded does.
//
// A create that fails with ErrConnectionLoss may have been executed by the
// server, leaving a node its creator does not know about (for an ephemeral
// lock node: a lock nobody releases until the session ends). After such a
// failure CreateProtected lists the parent's children once the connection
// is back and, if a child carries this create's UUID, returns it instead of
// creating a second node; otherwise it creates again. It keeps doing so
// until the create succeeds, fails with a definite error, or ctx ends.
//
// If ctx ends (or the session ends) while the outcome of a create is
// unknown, CreateProtected looks for the node one last time (for at most
// five seconds, ignoring ctx) and deletes it if it exists, so that an
// abandoned create leaves no orphan behind while the session lives. It
// returns the path (chroot-relative, with the sequence suffix) and the
// node's Stat; for a node found by its UUID the Stat is read with Exists.
func CreateProtected(ctx context.Context, c *sdk.Conn, nodePath string, data []byte, o sdk.CreateOptions) (string, sdk.Stat, error) {
	return rcpCreateProtected(ctx, c, nodePath, NewProtectedID(), data, o)
}

// rcpCreateProtected is CreateProtected with a given UUID (tests use it).
func rcpCreateProtected(ctx context.Context, c *sdk.Conn, nodePath, id string, data []byte, o sdk.CreateOptions) (string, sdk.Stat, error) {
	dir, name := path.Split(nodePath)
	dir = strings.TrimSuffix(dir, "/")
	if dir == "" {
		dir = "/"
	}
	if name == "" {
		return "", sdk.Stat{}, fmt.Errorf("recipe: protected create %q: %w", nodePath, sdk.ErrInvalidPath)
	}
	full := path.Join(dir, ProtectedName(id, name))
	unknown := false // a create may have been executed without our knowing
	var backoff rcpBackoff
	for {
		if unknown {
			p, st, found, err := rcpFindProtected(ctx, c, dir, id)
			switch {
			case err == nil && found:
				return p, st, nil
			case err == nil:
				unknown = false
			case rcpRetryable(err):
				if werr := backoff.wait(ctx); werr != nil {
					rcpAbandonProtected(ctx, c, dir, id)
					return "", sdk.Stat{}, fmt.Errorf("recipe: protected create %s: %w", nodePath, werr)
				}
				continue
			case errors.Is(err, sdk.ErrNoNode):
				// The parent is gone, so is anything we created in it.
				unknown = false
			default:
				rcpAbandonProtected(ctx, c, dir, id)
				return "", sdk.Stat{}, fmt.Errorf("recipe: protected create %s: %w", nodePath, err)
			}
		}
		p, st, err := c.Create(ctx, full, data, o)
		switch {
		case err == nil:
			return p, st, nil
		case errors.Is(err, sdk.ErrNoNode):
			if perr := rcpEnsureContainers(ctx, c, dir); perr != nil {
				if rcpRetryable(perr) {
					if werr := backoff.wait(ctx); werr != nil {
						return "", sdk.Stat{}, fmt.Errorf("recipe: protected create %s: %w", nodePath, werr)
					}
					continue
				}
				return "", sdk.Stat{}, fmt.Errorf("recipe: protected create %s: parents: %w", nodePath, perr)
			}
			continue
		case rcpRetryable(err):
			unknown = true
			if werr := backoff.wait(ctx); werr != nil {
				rcpAbandonProtected(ctx, c, dir, id)
				return "", sdk.Stat{}, fmt.Errorf("recipe: protected create %s: %w", nodePath, werr)
			}
			continue
		case ctx.Err() != nil:
			// The call was abandoned: it may still be executed.
			rcpAbandonProtected(ctx, c, dir, id)
			return "", sdk.Stat{}, fmt.Errorf("recipe: protected create %s: %w", nodePath, err)
		default:
			return "", sdk.Stat{}, fmt.Errorf("recipe: protected create %s: %w", nodePath, err)
		}
	}
}

// rcpFindProtected looks for the child of dir carrying the protected id.
func rcpFindProtected(ctx context.Context, c *sdk.Conn, dir, id string) (string, sdk.Stat, bool, error) {
	kids, _, err := c.Children(ctx, dir)
	if err != nil {
		return "", sdk.Stat{}, false, err
	}
	prefix := ProtectedName(id, "")
	for _, k := range kids {
		if !strings.HasPrefix(k, prefix) {
			continue
		}
		p := path.Join(dir, k)
		st, ok, err := c.Exists(ctx, p)
		if err != nil {
			return "", sdk.Stat{}, false, err
		}
		if ok {
			return p, st, true, nil
		}
	}
	return "", sdk.Stat{}, false, nil
}

// rcpAbandonProtected deletes the node of an abandoned protected create,
// if the server created it, with its own short deadline (ctx may be done).
func rcpAbandonProtected(ctx context.Context, c *sdk.Conn, dir, id string) {
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	var backoff rcpBackoff
	for {
		p, _, found, err := rcpFindProtected(actx, c, dir, id)
		if err == nil && found {
			err = c.Delete(actx, p, -1)
			if err == nil || errors.Is(err, sdk.ErrNoNode) {
				return
			}
		}
		if err == nil || !rcpRetryable(err) || backoff.wait(actx) != nil {
			return
		}
	}
}

// rcpEnsureContainers creates dir and its missing ancestors as containers.
func rcpEnsureContainers(ctx context.Context, c *sdk.Conn, dir string) error {
	if dir == "/" || dir == "" {
		return nil
	}
	_, _, err := c.Create(ctx, dir, nil, sdk.CreateOptions{Mode: sdk.ModeContainer, Parents: sdk.ParentsContainer})
	if errors.Is(err, sdk.ErrNodeExists) {
		return nil
	}
	return err
}

// rcpRetryable reports an error after which the call may be tried again on
// the same session: the connection was lost (the session may still live).
func rcpRetryable(err error) bool {
	return errors.Is(err, sdk.ErrConnectionLoss) || errors.Is(err, sdk.ErrOperationTimeout)
}

// rcpBackoff waits between retries: 20 ms doubling up to 1 s.
type rcpBackoff struct{ d time.Duration }

func (b *rcpBackoff) wait(ctx context.Context) error {
	if b.d == 0 {
		b.d = 20 * time.Millisecond
	} else if b.d < time.Second {
		b.d *= 2
	}
	t := time.NewTimer(b.d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
