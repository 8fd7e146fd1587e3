package snapfile

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"

	"github.com/warrenhq/warren/internal/vfs"
)

// Info describes a snapshot file found in a directory.
type Info struct {
	Path string // dir joined with the file name
	Zxid int64  // from the file name
	Size int64  // file size in bytes
}

// List returns the committed snapshots in dir (files named by FileName),
// newest (highest zxid) first. It ignores temporary files and every other
// name, and does not read the files: Open or Verify says whether one is
// sound. A file that disappears between reading the directory and
// looking at it (a concurrent Purge) is left out, not an error.
func List(fsys vfs.FS, dir string) ([]Info, error) {
	names, err := fsys.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("snapfile: list %s: %w", dir, err)
	}
	var out []Info
	for _, name := range names {
		z, ok := ParseName(name)
		if !ok {
			continue
		}
		p := filepath.Join(dir, name)
		st, err := fsys.Stat(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue // removed since ReadDir (a purge running meanwhile)
		}
		if err != nil {
			return nil, fmt.Errorf("snapfile: stat %s: %w", p, err)
		}
		if st.IsDir {
			continue
		}
		out = append(out, Info{Path: p, Zxid: z, Size: st.Size})
	}
	slices.SortFunc(out, func(a, b Info) int { return cmp.Compare(b.Zxid, a.Zxid) })
	return out, nil
}

// Purge removes all but the newest retain committed snapshots (retain >= 1)
// and every temporary snapshot file (left by a crash or a failed write),
// fsyncs dir, and returns the removed paths. Snapshots are removed oldest
// first. Purge must not run while a Writer is writing into dir: it would
// remove the Writer's temporary file (whose Commit then fails).
//
// Purge does not check the snapshots it keeps: a caller that must keep
// retain sound snapshots verifies them first.
func Purge(fsys vfs.FS, dir string, retain int) ([]string, error) {
	if retain < 1 {
		return nil, fmt.Errorf("snapfile: purge %s: retain count %d, must be at least 1", dir, retain)
	}
	names, err := fsys.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("snapfile: purge %s: %w", dir, err)
	}
	var victims []string
	for _, name := range names {
		if _, ok := parseTmpName(name); ok {
			victims = append(victims, filepath.Join(dir, name))
		}
	}
	snaps, err := List(fsys, dir)
	if err != nil {
		return nil, err
	}
	if len(snaps) > retain {
		old := snaps[retain:]
		for i := len(old) - 1; i >= 0; i-- {
			victims = append(victims, old[i].Path)
		}
	}
	if len(victims) == 0 {
		return nil, nil
	}
	var removed []string
	var errs []error
	for _, p := range victims {
		if err := fsys.Remove(p); err != nil {
			errs = append(errs, fmt.Errorf("snapfile: remove %s: %w", p, err))
			continue
		}
		removed = append(removed, p)
	}
	if err := fsys.SyncDir(dir); err != nil {
		errs = append(errs, fmt.Errorf("snapfile: fsync %s: %w", dir, err))
	}
	return removed, errors.Join(errs...)
}
