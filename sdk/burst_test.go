package sdk_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warrenhq/warren/internal/testutil"
	"github.com/warrenhq/warren/sdk"
)

// The burst: burstWorkers goroutines issue burstOps operations each on one
// Conn while the connection is disrupted several times. No call is retried.
const (
	burstWorkers = 6
	burstOps     = 60
)

// TestBurstProxyCuts cuts the client's connection (a relaying proxy closes
// both ends) five times in the middle of a write burst.
func TestBurstProxyCuts(t *testing.T) {
	for _, tg := range []testutil.Target{testutil.TargetWarren, testutil.TargetZooKeeper} {
		t.Run(string(tg), func(t *testing.T) {
			addr := tg.Start(t, testutil.ServerConfig{})
			px := testutil.StartProxy(t, addr)
			runBurst(t, burstSetup{
				clientAddr: px.Addr(), checkAddr: addr, disruptions: 5,
				disrupt: func() error { px.Cut(); return nil },
				stop:    px.Close,
			})
		})
	}
}

// TestBurstServerRestart SIGKILLs the server in the middle of a write burst
// and starts it again on the same port and data, twice.
func TestBurstServerRestart(t *testing.T) {
	t.Run("warren", func(t *testing.T) {
		e := testutil.StartEnsemble(t, testutil.EnsembleOptions{Participants: 1})
		m := e.Members[0]
		runBurst(t, burstSetup{
			clientAddr: m.Addr, checkAddr: m.Addr, disruptions: 2,
			disrupt: func() error {
				m.Kill()
				return m.Restart(30 * time.Second)
			},
		})
	})
	t.Run("zookeeper", func(t *testing.T) {
		z := testutil.StartZooKeeper(t, testutil.ZKOptions{})
		kill := z.Stop
		runBurst(t, burstSetup{
			clientAddr: z.Addr, checkAddr: z.Addr, disruptions: 2,
			disrupt: func() error {
				kill()
				var err error
				kill, err = startZooKeeperAgain(t, z)
				return err
			},
		})
	})
}

type burstSetup struct {
	clientAddr  string       // the burst's Conn connects here
	checkAddr   string       // the checking session connects here
	disruptions int          // how many times disrupt runs
	disrupt     func() error // cuts the connection or restarts the server
	stop        func()       // releases the test's own goroutines (proxy)
}

// outcome of a call: success or connection loss, nothing else.
type outcome int

const (
	outcomeOK outcome = iota + 1
	outcomeLost
)

// burstWorker is what one worker saw.
type burstWorker struct {
	creates map[string]outcome // /burst/g<w>-<j>
	multis  map[string]outcome // /burst/m<w>-<j> (and its child c)
	// The worker's counter node /burst/s<w>: version and data as last
	// known, sure=false after a lost set until a read resolves it.
	ver       int32
	data      []byte
	sure      bool
	setOK     int // sets reported successful
	setTried  int // sets sent
	tentative []byte
}

func classify(t *testing.T, what string, err error) outcome {
	if err == nil {
		return outcomeOK
	}
	if errors.Is(err, sdk.ErrConnectionLoss) {
		return outcomeLost
	}
	t.Errorf("%s: want success or connection loss, got %v", what, err)
	return 0
}

// sdkGoroutines counts the goroutines running code of package sdk (not
// its tests).
func sdkGoroutines() (int, string) {
	buf := make([]byte, 1<<22)
	buf = buf[:runtime.Stack(buf, true)]
	n := 0
	var dump strings.Builder
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "github.com/warrenhq/warren/sdk.") {
			n++
			dump.WriteString(g)
			dump.WriteString("\n\n")
		}
	}
	return n, dump.String()
}

func runBurst(t *testing.T, s burstSetup) {
	baseGoroutines, _ := sdkGoroutines()
	ctx := ctxT(t)
	long, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	c, err := sdk.Connect(ctx, s.clientAddr, sdk.WithSessionTimeout(40*time.Second))
	require.NoError(t, err)
	defer func() { _ = c.Close() }()
	sid := c.SessionID()
	var stateLog []sdk.State
	statesDone := make(chan struct{})
	states := c.States()
	go func() {
		defer close(statesDone)
		for st := range states {
			stateLog = append(stateLog, st)
		}
	}()

	_, _, err = c.Create(ctx, "/burst", nil, sdk.CreateOptions{})
	require.NoError(t, err)
	workers := make([]*burstWorker, burstWorkers)
	for i := range workers {
		_, st, err := c.Create(ctx, fmt.Sprintf("/burst/s%d", i), []byte("0"), sdk.CreateOptions{})
		require.NoError(t, err)
		workers[i] = &burstWorker{creates: map[string]outcome{}, multis: map[string]outcome{}, ver: st.Version, data: []byte("0"), sure: true}
	}
	rw, err := c.AddWatch(ctx, "/burst", true)
	require.NoError(t, err)
	var events []sdk.Event
	const marker = "/burst/zz-end"
	eventsDone := make(chan struct{})
	go func() {
		defer close(eventsDone)
		for ev := range rw.Events() {
			events = append(events, ev)
			if ev.Path == marker {
				return
			}
		}
	}()

	// Disruptions happen when the burst has made progress, spread over it.
	var progress atomic.Int64
	total := int64(burstWorkers * burstOps)
	disrupted := make(chan error, 1)
	go func() {
		for k := 1; k <= s.disruptions; k++ {
			for progress.Load() < total*int64(k)/int64(s.disruptions+1) {
				time.Sleep(2 * time.Millisecond)
			}
			if err := s.disrupt(); err != nil {
				disrupted <- fmt.Errorf("disruption %d: %w", k, err)
				return
			}
		}
		disrupted <- nil
	}()

	var wg sync.WaitGroup
	for i, w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sp := fmt.Sprintf("/burst/s%d", i)
			for j := range burstOps {
				switch j % 3 {
				case 0:
					p := fmt.Sprintf("/burst/g%d-%03d", i, j)
					got, _, err := c.Create(long, p, []byte(p), sdk.CreateOptions{})
					w.creates[p] = classify(t, "create "+p, err)
					if err == nil && got != p {
						t.Errorf("create %s returned %s", p, got)
					}
				case 1:
					if !w.sure {
						data, st, err := c.Get(long, sp)
						if classify(t, "get "+sp, err) != outcomeOK {
							break
						}
						switch {
						case st.Version == w.ver && bytes.Equal(data, w.data):
						case st.Version == w.ver+1 && bytes.Equal(data, w.tentative):
							w.ver, w.data = st.Version, data
						default:
							t.Errorf("%s: version %d data %q after a lost set of %q on version %d (%q)", sp, st.Version, data, w.tentative, w.ver, w.data)
						}
						w.sure = true
					}
					val := []byte(strconv.Itoa(j))
					w.setTried++
					st, err := c.Set(long, sp, val, w.ver)
					switch classify(t, "set "+sp, err) {
					case outcomeOK:
						w.setOK++
						if st.Version != w.ver+1 {
							t.Errorf("set %s on version %d returned version %d", sp, w.ver, st.Version)
						}
						w.ver, w.data = st.Version, val
					case outcomeLost:
						w.sure, w.tentative = false, val
					}
				case 2:
					p := fmt.Sprintf("/burst/m%d-%03d", i, j)
					_, err := c.Multi(long, c.CreateOp(p, nil, sdk.CreateOptions{}), c.CreateOp(p+"/c", nil, sdk.CreateOptions{}))
					w.multis[p] = classify(t, "multi "+p, err)
				}
				progress.Add(1)
			}
		}()
	}
	wg.Wait()
	require.NoError(t, <-disrupted)

	// The session survived: the marker's create and its event go through
	// the same Conn after the last disruption.
	_, _, err = c.Create(long, marker, nil, sdk.CreateOptions{})
	require.NoError(t, err)
	assert.Equal(t, sid, c.SessionID(), "the session was resumed, never replaced")
	select {
	case <-eventsDone:
	case <-time.After(waitFor):
		t.Fatal("the recursive watch did not deliver the marker's event")
	}

	// A fresh session reads what the server holds.
	chk := connect(t, s.checkAddr)
	require.NoError(t, chk.Sync(ctx, "/burst"))
	kids, _, err := chk.Children(ctx, "/burst")
	require.NoError(t, err)
	czxid := map[string]int64{}
	for _, k := range kids {
		p := "/burst/" + k
		_, st, err := chk.Get(ctx, p)
		require.NoError(t, err)
		czxid[p] = st.Czxid
		if strings.HasPrefix(k, "m") {
			sub, _, err := chk.Children(ctx, p)
			require.NoError(t, err)
			assert.Equal(t, []string{"c"}, sub, "multi %s is atomic", p)
			_, cst, err := chk.Get(ctx, p+"/c")
			require.NoError(t, err)
			czxid[p+"/c"] = cst.Czxid
		}
	}
	attempted := map[string]outcome{}
	nOK, nLost := 0, 0
	for i, w := range workers {
		for _, m := range []map[string]outcome{w.creates, w.multis} {
			for p, o := range m {
				attempted[p] = o
				if o == outcomeOK {
					nOK++
					_, exists := czxid[p]
					assert.True(t, exists, "%s was reported created but does not exist", p)
				} else {
					nLost++
				}
			}
		}
		sp := fmt.Sprintf("/burst/s%d", i)
		data, st, err := chk.Get(ctx, sp)
		require.NoError(t, err)
		if w.sure {
			assert.Equal(t, w.ver, st.Version, sp)
			assert.Equal(t, w.data, data, sp)
		} else {
			assert.True(t, (st.Version == w.ver && bytes.Equal(data, w.data)) || (st.Version == w.ver+1 && bytes.Equal(data, w.tentative)),
				"%s: version %d data %q, last known %d %q, lost set %q", sp, st.Version, data, w.ver, w.data, w.tentative)
		}
		nOK += w.setOK
		nLost += w.setTried - w.setOK
	}
	for p := range czxid {
		base := strings.TrimSuffix(p, "/c")
		if strings.HasPrefix(p, "/burst/s") || p == marker {
			continue
		}
		_, tried := attempted[base]
		assert.True(t, tried, "%s exists but was never created", p)
	}
	t.Logf("%d calls succeeded, %d were lost", nOK, nLost)

	// Events: no duplicate, creations in zxid order, one for every
	// reported success (it precedes the reply on the wire), data changes
	// of each counter between its reported and its attempted sets.
	seen := map[string]bool{}
	var last int64
	lastPath := ""
	changes := map[string]int{}
	for _, ev := range events {
		switch ev.Type {
		case sdk.EventNodeCreated:
			z, exists := czxid[ev.Path]
			if !assert.True(t, exists, "event for %s that does not exist", ev.Path) {
				continue
			}
			assert.False(t, seen[ev.Path], "two creation events for %s", ev.Path)
			seen[ev.Path] = true
			if z == last && ev.Path == lastPath+"/c" {
				// a multi's two creations share its zxid
			} else {
				assert.Greater(t, z, last, "creation of %s out of zxid order", ev.Path)
			}
			last, lastPath = z, ev.Path
		case sdk.EventNodeDataChanged:
			changes[ev.Path]++
		default:
			t.Errorf("unexpected event %+v", ev)
		}
	}
	for p, o := range attempted {
		if o == outcomeOK {
			assert.True(t, seen[p], "no event for the reported creation of %s", p)
			if strings.HasPrefix(p, "/burst/m") {
				assert.True(t, seen[p+"/c"], "no event for the reported creation of %s/c", p)
			}
		}
	}
	for i, w := range workers {
		sp := fmt.Sprintf("/burst/s%d", i)
		assert.GreaterOrEqual(t, changes[sp], w.setOK, sp)
		assert.LessOrEqual(t, changes[sp], w.setTried, sp)
	}

	// Close ends every goroutine of the package.
	require.NoError(t, rw.Close(ctx))
	require.NoError(t, c.Close())
	<-statesDone
	t.Logf("states %v", stateLog)
	assert.NotContains(t, stateLog, sdk.StateExpired)
	assert.GreaterOrEqual(t, countState(stateLog, sdk.StateReconnected), 1, "states %v", stateLog)
	require.NoError(t, chk.Close())
	if s.stop != nil {
		s.stop()
	}
	deadline := time.Now().Add(waitFor)
	for {
		n, dump := sdkGoroutines()
		if n <= baseGoroutines {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d sdk goroutines left (%d before):\n%s", n, baseGoroutines, dump)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func countState(l []sdk.State, s sdk.State) int {
	return len(slices.DeleteFunc(slices.Clone(l), func(x sdk.State) bool { return x != s }))
}
