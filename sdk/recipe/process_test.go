package recipe_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warrenhq/warren/sdk"
	"github.com/warrenhq/warren/sdk/recipe"
)

// Environment of a helper process (TestHelperProcess).
const (
	lkEnvHelper = "WARREN_RECIPE_HELPER" // "lock" or "latch"
	lkEnvAddr   = "WARREN_RECIPE_ADDR"
	lkEnvDir    = "WARREN_RECIPE_DIR"
)

// Exit statuses of a helper process.
const (
	lkExitViolation = 3 // it found another holder while holding
	lkExitError     = 4
)

// TestHelperProcess is not a test: testKilledProcesses runs the test
// binary again with this test selected and lkEnvHelper set, as a lock
// contender or election participant of its own (its own session).
//
// The helper takes the lock <dir>/lock (Mutex) or leads the election
// <dir>/latch (LeaderLatch), and while holding it creates the ephemeral
// <dir>/holder with its pid as data: that create fails, and the helper
// exits with lkExitViolation, if another session holds it, so two holders
// at once are caught. It holds until <dir>/stop exists (or it is killed).
func TestHelperProcess(t *testing.T) {
	mode := os.Getenv(lkEnvHelper)
	if mode == "" {
		t.Skip("helper process of testKilledProcesses")
	}
	code := lkHelper(mode, os.Getenv(lkEnvAddr), os.Getenv(lkEnvDir))
	os.Exit(code)
}

func lkHelper(mode, addr, dir string) int {
	fail := func(err error) int {
		fmt.Printf("ERROR %v\n", err)
		return lkExitError
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c, err := sdk.Connect(ctx, addr, sdk.WithSessionTimeout(2*time.Second))
	if err != nil {
		return fail(err)
	}
	defer c.Close()
	pid := []byte(strconv.Itoa(os.Getpid()))
	// stop is closed when <dir>/stop exists.
	stop := make(chan struct{})
	go func() {
		defer close(stop)
		for {
			_, ok, ch, err := c.ExistsW(ctx, dir+"/stop")
			if err != nil || ok {
				return
			}
			if ev := <-ch; ev.Type == sdk.EventSession {
				return
			}
		}
	}()
	hold := func() int {
		_, _, err := c.Create(ctx, dir+"/holder", pid, sdk.CreateOptions{Mode: sdk.ModeEphemeral})
		if errors.Is(err, sdk.ErrNodeExists) {
			data, st, gerr := c.Get(ctx, dir+"/holder")
			if gerr != nil || st.EphemeralOwner != c.SessionID() {
				fmt.Printf("VIOLATION holder is %s\n", data)
				return lkExitViolation
			}
		} else if err != nil {
			return fail(err)
		}
		fmt.Printf("HOLD %s\n", pid)
		return 0
	}
	switch mode {
	case "lock":
		m := recipe.NewMutex(c, dir+"/lock", recipe.WithNodeData(pid))
		actx, acancel := context.WithCancel(ctx)
		go func() {
			<-stop
			acancel()
		}()
		if err := m.Acquire(actx); err != nil {
			if actx.Err() != nil {
				return 0
			}
			return fail(err)
		}
		if code := hold(); code != 0 {
			return code
		}
		select {
		case <-stop:
		case <-m.Lost():
			return fail(errors.New("lock lost"))
		}
		_ = c.Delete(ctx, dir+"/holder", -1)
		if err := m.Release(ctx); err != nil {
			return fail(err)
		}
		return 0
	case "latch":
		l := recipe.NewLeaderLatch(c, dir+"/latch", string(pid))
		changes := l.Changes()
		if err := l.Start(ctx); err != nil {
			return fail(err)
		}
		for {
			select {
			case v, ok := <-changes:
				if !ok {
					return fail(errors.New("latch stopped"))
				}
				if v {
					if code := hold(); code != 0 {
						return code
					}
				}
			case <-stop:
				if l.IsLeader() {
					_ = c.Delete(ctx, dir+"/holder", -1)
				}
				if err := l.Close(ctx); err != nil {
					return fail(err)
				}
				return 0
			}
		}
	}
	return fail(fmt.Errorf("unknown mode %q", mode))
}

// lkProc is a helper process started by a test.
type lkProc struct {
	cmd  *exec.Cmd
	out  *lkBuffer
	done chan struct{}
	err  error
}

// lkBuffer is a bytes.Buffer safe for the process's writer and the test.
type lkBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *lkBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *lkBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

func lkStartHelper(t *testing.T, mode, addr, dir string) *lkProc {
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$")
	cmd.Env = append(os.Environ(), lkEnvHelper+"="+mode, lkEnvAddr+"="+addr, lkEnvDir+"="+dir)
	p := &lkProc{cmd: cmd, out: &lkBuffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.out, p.out
	require.NoError(t, cmd.Start())
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-p.done
	})
	return p
}

// testKilledProcesses runs three helper processes per recipe (Mutex and
// LeaderLatch) and SIGKILLs the holder twice: each time another process
// takes over once the killed one's 2 s session expired, and no process
// ever finds another holder while holding.
func testKilledProcesses(t *testing.T, addr string) {
	for _, mode := range []string{"lock", "latch"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			ctx := testCtx(t)
			dir := "/procs-" + mode
			c := connect(t, addr, 0)
			_, _, err := c.Create(ctx, dir, nil, sdk.CreateOptions{})
			require.NoError(t, err)
			procs := map[int]*lkProc{}
			for i := 0; i < 3; i++ {
				p := lkStartHelper(t, mode, addr, dir)
				procs[p.cmd.Process.Pid] = p
			}
			holder := func(not int) int {
				for {
					data, _, ch, err := c.GetW(ctx, dir+"/holder")
					if err == nil {
						pid, perr := strconv.Atoi(string(data))
						require.NoError(t, perr)
						if pid != not {
							return pid
						}
					} else {
						require.ErrorIs(t, err, sdk.ErrNoNode)
						_, ok, ech, err := c.ExistsW(ctx, dir+"/holder")
						require.NoError(t, err)
						if ok {
							continue
						}
						ch = ech
					}
					select {
					case <-ch:
					case <-ctx.Done():
						for pid, p := range procs {
							t.Logf("helper %d: %s", pid, p.out.String())
						}
						t.Fatal("no new holder")
					}
				}
			}
			killed := map[int]bool{}
			h := holder(0)
			for k := 0; k < 2; k++ {
				require.NoError(t, syscall.Kill(h, syscall.SIGKILL))
				<-procs[h].done
				killed[h] = true
				h = holder(h)
				assert.False(t, killed[h], "a killed process cannot hold")
			}
			_, _, err = c.Create(ctx, dir+"/stop", nil, sdk.CreateOptions{})
			require.NoError(t, err)
			for pid, p := range procs {
				select {
				case <-p.done:
				case <-ctx.Done():
					t.Fatalf("helper %d did not stop", pid)
				}
				if killed[pid] {
					continue
				}
				assert.NoError(t, p.err, "helper %d: %s", pid, p.out.String())
			}
		})
	}
}
