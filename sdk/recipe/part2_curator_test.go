package recipe_test

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/warrenhq/warren/sdk/recipe"
)

// p2JavaSource is the Java side of the part-2 interoperability test: Apache
// Curator's DistributedQueue, DistributedAtomicLong, SharedCount and
// DistributedDoubleBarrier driven by commands on stdin, one per line,
// answering one marker line each on stdout ("READY" once connected).
const p2JavaSource = `
import java.io.*;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.*;
import org.apache.curator.framework.*;
import org.apache.curator.framework.state.ConnectionState;
import org.apache.curator.framework.recipes.atomic.*;
import org.apache.curator.framework.recipes.barriers.DistributedDoubleBarrier;
import org.apache.curator.framework.recipes.queue.*;
import org.apache.curator.framework.recipes.shared.*;
import org.apache.curator.retry.RetryNTimes;

public class P2Curator {
    static synchronized void say(String s) { System.out.println(s); System.out.flush(); }

    public static void main(String[] args) throws Exception {
        CuratorFramework c = CuratorFrameworkFactory.newClient(args[0], 20000, 10000, new RetryNTimes(50, 100));
        c.start();
        c.blockUntilConnected();
        QueueSerializer<String> ser = new QueueSerializer<String>() {
            public byte[] serialize(String s) { return s.getBytes(StandardCharsets.UTF_8); }
            public String deserialize(byte[] b) { return new String(b, StandardCharsets.UTF_8); }
        };
        DistributedDoubleBarrier barrier = null;
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        say("READY");
        String line;
        while ((line = in.readLine()) != null) {
            String[] f = line.trim().split(" ");
            switch (f[0]) {
            case "put": {
                DistributedQueue<String> q = QueueBuilder.builder(c, null, ser, f[1]).buildQueue();
                q.start();
                for (int i = 0; i < Integer.parseInt(f[2]); i++) q.put("j-" + i);
                q.flushPuts(20, TimeUnit.SECONDS);
                q.close();
                say("PUT");
                break;
            }
            case "take": {
                final CountDownLatch latch = new CountDownLatch(Integer.parseInt(f[2]));
                QueueConsumer<String> cons = new QueueConsumer<String>() {
                    public void consumeMessage(String m) { say("ITEM " + m); latch.countDown(); }
                    public void stateChanged(CuratorFramework cf, ConnectionState s) {}
                };
                DistributedQueue<String> q = QueueBuilder.builder(c, cons, ser, f[1]).buildQueue();
                q.start();
                latch.await(30, TimeUnit.SECONDS);
                q.close();
                say("TAKEN");
                break;
            }
            case "incr": {
                DistributedAtomicLong l = new DistributedAtomicLong(c, f[1], new RetryNTimes(100000, 0));
                for (int i = 0; i < Integer.parseInt(f[2]); i++) {
                    while (!l.increment().succeeded()) {}
                }
                say("INCREMENTED");
                break;
            }
            case "get": {
                DistributedAtomicLong l = new DistributedAtomicLong(c, f[1], new RetryNTimes(10, 0));
                say("VALUE " + l.get().postValue());
                break;
            }
            case "shared": {
                SharedCount s = new SharedCount(c, f[1], 0);
                s.start();
                VersionedValue<Integer> v = s.getVersionedValue();
                boolean ok = s.trySetCount(v, v.getValue() + 1);
                say("SHARED " + v.getValue() + " " + ok);
                s.close();
                break;
            }
            case "enter":
                barrier = new DistributedDoubleBarrier(c, f[1], Integer.parseInt(f[2]));
                barrier.enter();
                say("ENTERED");
                break;
            case "leave":
                barrier.leave();
                say("LEFT");
                break;
            }
        }
        c.close();
    }
}
`

var p2JavaJars = []string{"curator-framework.jar", "curator-client.jar", "curator-recipes.jar",
	"zookeeper.jar", "zookeeper-jute.jar", "guava.jar", "slf4j-api.jar", "slf4j-nop.jar"}

var p2JavaOnce struct {
	sync.Once
	cp  string
	err error
}

// p2CompileJava compiles P2Curator once per test binary and returns the
// classpath; it skips when Java or the jars are missing, unless
// WARREN_REQUIRE_JAVA is set.
func p2CompileJava(t *testing.T) string {
	var missing []string
	for _, bin := range []string{"javac", "java"} {
		if _, err := exec.LookPath(bin); err != nil {
			missing = append(missing, bin)
		}
	}
	var cp []string
	for _, j := range p2JavaJars {
		p := filepath.Join("/usr/share/java", j)
		if _, err := os.Stat(p); err != nil {
			missing = append(missing, p)
		}
		cp = append(cp, p)
	}
	if len(missing) > 0 {
		msg := "Curator interop needs " + strings.Join(missing, ", ") + " (run scripts/test-deps.sh)"
		if os.Getenv("WARREN_REQUIRE_JAVA") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	p2JavaOnce.Do(func() {
		dir, err := os.MkdirTemp("", "p2curator")
		if err != nil {
			p2JavaOnce.err = err
			return
		}
		src := filepath.Join(dir, "P2Curator.java")
		if err := os.WriteFile(src, []byte(p2JavaSource), 0o644); err != nil {
			p2JavaOnce.err = err
			return
		}
		out, err := exec.Command("javac", "-d", dir, "-cp", strings.Join(cp, ":"), src).CombinedOutput()
		if err != nil {
			p2JavaOnce.err = fmt.Errorf("javac: %w: %s", err, out)
			return
		}
		p2JavaOnce.cp = strings.Join(append(cp, dir), ":")
	})
	require.NoError(t, p2JavaOnce.err)
	return p2JavaOnce.cp
}

// p2Java is a running P2Curator.
type p2Java struct {
	t     *testing.T
	stdin io.WriteCloser
	lines chan string
}

func p2StartJava(t *testing.T, cp, addr string) *p2Java {
	cmd := exec.Command("java", "-Xmx128m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
		"-Djava.net.preferIPv4Stack=true", "-cp", cp, "P2Curator", addr)
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	cmd.Stderr = cmd.Stdout
	require.NoError(t, cmd.Start())
	j := &p2Java{t: t, stdin: stdin, lines: make(chan string, 1000)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer close(j.lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			j.lines <- sc.Text()
		}
	}()
	t.Cleanup(func() {
		_ = stdin.Close()
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		<-done
	})
	j.expect("READY")
	return j
}

func (j *p2Java) send(cmd string) {
	j.t.Helper()
	_, err := io.WriteString(j.stdin, cmd+"\n")
	require.NoError(j.t, err)
}

// expect returns the rest of the next line starting with prefix; lines
// without a known marker (Java's own output) are skipped.
func (j *p2Java) expect(prefix string) string {
	j.t.Helper()
	deadline := time.After(60 * time.Second)
	for {
		select {
		case l, ok := <-j.lines:
			require.True(j.t, ok, "java exited before %q", prefix)
			if strings.HasPrefix(l, prefix) {
				return strings.TrimSpace(strings.TrimPrefix(l, prefix))
			}
			j.t.Logf("java: %s", l)
		case <-deadline:
			j.t.Fatalf("no %q from java", prefix)
		}
	}
}

// testCuratorPart2: Apache Curator 5.4 (Java) and the Go recipes on the
// same paths: queue items cross both ways, a DistributedAtomicLong and Go
// increments add up, SharedCount values are read on both sides, and a
// barrier holds one Curator and two Go members.
func testCuratorPart2(t *testing.T, addr string) {
	cp := p2CompileJava(t)
	ctx := p2Ctx(t)
	j := p2StartJava(t, cp, addr)
	c := p2Connect(t, addr)

	// Go producer, Curator consumer.
	gq := recipe.NewQueue(c, "/p2/cur/q1")
	for i := range 5 {
		_, err := gq.Put(ctx, fmt.Appendf(nil, "g-%d", i))
		require.NoError(t, err)
	}
	j.send("take /p2/cur/q1 5")
	var got []string
	for range 5 {
		got = append(got, j.expect("ITEM "))
	}
	j.expect("TAKEN")
	slices.Sort(got)
	assert.Equal(t, []string{"g-0", "g-1", "g-2", "g-3", "g-4"}, got)

	// Curator producer, Go consumer: in order.
	j.send("put /p2/cur/q2 5")
	j.expect("PUT")
	cq := recipe.NewQueue(c, "/p2/cur/q2")
	for i := range 5 {
		b, err := cq.Take(ctx)
		require.NoError(t, err)
		assert.Equal(t, fmt.Sprintf("j-%d", i), string(b))
	}

	// DistributedAtomicLong and AtomicCounter increments add up.
	j.send("incr /p2/cur/long 40")
	var wg sync.WaitGroup
	for range 2 {
		a := recipe.NewAtomicCounter(p2Connect(t, addr), "/p2/cur/long")
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 20 {
				if _, err := a.Increment(ctx); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	j.expect("INCREMENTED")
	v, err := recipe.NewAtomicCounter(c, "/p2/cur/long").Get(ctx)
	require.NoError(t, err)
	assert.Equal(t, int64(80), v)
	j.send("get /p2/cur/long")
	assert.Equal(t, "80", j.expect("VALUE "))

	// SharedCount: Curator reads Go's value and sets the next one.
	sc, err := recipe.NewSharedCount(ctx, c, "/p2/cur/shared", 41)
	require.NoError(t, err)
	defer sc.Close()
	j.send("shared /p2/cur/shared")
	assert.Equal(t, "41 true", j.expect("SHARED "))
	p2WaitCount(t, sc, 42)

	// A barrier of one Curator and two Go members.
	j.send("enter /p2/cur/barrier 3")
	entered := make(chan error, 2)
	left := make(chan error, 2)
	leave := make(chan struct{})
	for range 2 {
		b, err := recipe.NewDoubleBarrier(p2Connect(t, addr), "/p2/cur/barrier", 3)
		require.NoError(t, err)
		go func() {
			if err := b.Enter(ctx); err != nil {
				entered <- err
				return
			}
			entered <- nil
			<-leave
			left <- b.Leave(ctx)
		}()
	}
	j.expect("ENTERED")
	for range 2 {
		require.NoError(t, <-entered)
	}
	close(leave)
	time.Sleep(100 * time.Millisecond)
	select {
	case err := <-left:
		t.Fatalf("a Go member left before the Curator member (err %v)", err)
	default:
	}
	j.send("leave")
	j.expect("LEFT")
	for range 2 {
		require.NoError(t, <-left)
	}
}
