package bench

import (
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseStatCPU(t *testing.T) {
	tests := []struct {
		name    string
		stat    string
		want    time.Duration
		wantErr string
	}{
		{
			name: "java",
			stat: "4242 (java) S 1 4242 4242 0 -1 4194560 93412 0 12 0 1234 567 0 0 20 0 45 0 123 5000000 30000 18446744073709551615",
			want: 18010 * time.Millisecond,
		},
		{
			name: "name with spaces and parentheses",
			stat: "7 (a) b (c) R 1 7 7 0 -1 0 0 0 0 0 250 50 0 0 20 0 1 0 9 0 0",
			want: 3 * time.Second,
		},
		{name: "no name", stat: "7 a R 1", wantErr: "no command name"},
		{name: "short", stat: "7 (a) R 1 2 3", wantErr: "fields"},
		{name: "bad number", stat: "7 (a) R 1 7 7 0 -1 0 0 0 0 0 x 50 0", wantErr: "cpu time"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseStatCPU([]byte(tc.stat))
			if tc.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tc.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestParseStatusMem(t *testing.T) {
	status := "Name:\tjava\nVmPeak:\t 9000 kB\nVmHWM:\t  204800 kB\nVmRSS:\t  102400 kB\nThreads:\t40\n"
	rss, hwm := parseStatusMem([]byte(status))
	assert.Equal(t, int64(100<<20), rss)
	assert.Equal(t, int64(200<<20), hwm)
	rss, hwm = parseStatusMem([]byte("Name:\tkthread\n"))
	assert.Zero(t, rss)
	assert.Zero(t, hwm)
}

func TestReadProcSelf(t *testing.T) {
	s, err := readProc(os.Getpid())
	require.NoError(t, err)
	assert.Positive(t, s.rss)
	assert.GreaterOrEqual(t, s.peakRSS, s.rss)
	assert.Positive(t, selfCPU())
	_, err = readProc(1 << 30)
	assert.Error(t, err)
}

func TestProcState(t *testing.T) {
	tests := []struct {
		name string
		stat string
		want byte
		ok   bool
	}{
		{"running", "7 (warren) R 1 7 7 0", 'R', true},
		{"zombie with spaces in the name", "7 (a) b) Z 1 7", 'Z', true},
		{"no name", "7 warren S 1", 0, false},
		{"truncated", "7 (warren)", 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := procState([]byte(tc.stat))
			assert.Equal(t, tc.ok, ok)
			assert.Equal(t, tc.want, got)
		})
	}
}
