// P2Curator is the Java side of sdk/recipe's part-2 interoperability test:
// Apache Curator's DistributedQueue, DistributedAtomicLong, SharedCount and
// DistributedDoubleBarrier against the server the Go test started (args[0]),
// driven by commands on stdin, one per line, each answered by one marker
// line on stdout ("READY" once connected):
//
//   put <path> <n>       puts j-0..j-<n-1> on a DistributedQueue ("PUT")
//   take <path> <n>      consumes n items ("ITEM <item>" each, then "TAKEN")
//   incr <path> <n>      increments a DistributedAtomicLong n times ("INCREMENTED")
//   get <path>           "VALUE <n>"
//   shared <path>        reads a SharedCount and sets it one higher
//                        ("SHARED <value> <ok>")
//   enter <path> <n>     enters a DistributedDoubleBarrier of n ("ENTERED")
//   leave                leaves it ("LEFT")
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
