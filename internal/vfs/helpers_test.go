package vfs

import (
	"os"
	"path"
	"testing"

	"github.com/stretchr/testify/require"
)

// tree lists every file and directory under root: files map to their
// content, directories (suffixed "/") to "". Paths are relative to root.
func tree(t *testing.T, fsys FS, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	var walk func(dir, rel string)
	walk = func(dir, rel string) {
		names, err := fsys.ReadDir(dir)
		require.NoError(t, err)
		for _, n := range names {
			p, r := path.Join(dir, n), path.Join(rel, n)
			st, err := fsys.Stat(p)
			require.NoError(t, err)
			if st.IsDir {
				out[r+"/"] = ""
				walk(p, r)
				continue
			}
			data, err := ReadFile(fsys, p)
			require.NoError(t, err)
			out[r] = string(data)
		}
	}
	walk(root, "")
	return out
}

// writeFile creates name with data and optionally syncs it.
func writeFile(t *testing.T, fsys FS, name, data string, sync bool) {
	t.Helper()
	f, err := fsys.Create(name)
	require.NoError(t, err)
	_, err = f.Write([]byte(data))
	require.NoError(t, err)
	if sync {
		require.NoError(t, f.Sync())
	}
	require.NoError(t, f.Close())
}

// appendFile appends data to an existing file and optionally syncs it.
func appendFile(t *testing.T, fsys FS, name, data string, sync bool) {
	t.Helper()
	f, err := fsys.OpenFile(name, os.O_WRONLY|os.O_APPEND, 0)
	require.NoError(t, err)
	_, err = f.Write([]byte(data))
	require.NoError(t, err)
	if sync {
		require.NoError(t, f.Sync())
	}
	require.NoError(t, f.Close())
}
