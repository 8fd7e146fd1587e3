package snapfile_test

import (
	"fmt"
	"io"

	"github.com/warrenhq/warren/core/snapfile"
	"github.com/warrenhq/warren/internal/vfs"
)

// Writing a snapshot, finding the newest one, reading it back verified,
// and keeping only the newest two.
func Example() {
	fsys := vfs.NewMemFS() // vfs.OS in the server
	for _, zxid := range []int64{0x100000005, 0x100000009, 0x10000000c} {
		w, err := snapfile.Create(fsys, "data/version-2", snapfile.Meta{Zxid: zxid, Nodes: 2})
		if err != nil {
			panic(err)
		}
		if _, err := fmt.Fprintf(w, "state at %#x", zxid); err != nil {
			panic(err) // the temporary file is already gone
		}
		if _, err := w.Commit(); err != nil {
			panic(err)
		}
	}

	snaps, _ := snapfile.List(fsys, "data/version-2")
	r, err := snapfile.Open(fsys, snaps[0].Path)
	if err != nil {
		panic(err) // a *snapfile.CorruptionError: fall back to snaps[1]
	}
	state, err := io.ReadAll(r) // io.EOF only after the trailer verified
	r.Close()
	fmt.Println(snaps[0].Path, r.Meta().Zxid == snaps[0].Zxid, string(state), err)

	removed, _ := snapfile.Purge(fsys, "data/version-2", 2)
	fmt.Println(removed)
	// Output:
	// data/version-2/snapshot.000000010000000c true state at 0x10000000c <nil>
	// [data/version-2/snapshot.0000000100000005]
}
