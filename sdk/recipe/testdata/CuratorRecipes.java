// CuratorRecipes is the Java side of sdk/recipe's interoperability tests:
// it runs Apache Curator's InterProcessMutex and LeaderLatch against the
// server the Go test started and reports what it sees on stdout, one
// marker per line, starting with "READY" once connected. Commands arrive
// on stdin, one per line.
//
//   count <connect> <lockPath> <counterPath> <holderPath> <iterations>
//       takes the lock <iterations> times; while holding it creates the
//       ephemeral <holderPath> (which must not exist: "VIOLATION" and exit
//       status 3 otherwise) and adds one to the decimal counter in
//       <counterPath> with an unversioned read-modify-write. Prints "DONE".
//   hold <connect> <lockPath>
//       takes the lock, prints "HELD <node>", then on "list" prints
//       "PARTICIPANTS <node>,<node>,..." and on "release" releases the lock
//       and prints "RELEASED".
//   latch <connect> <latchPath> <id>
//       joins a LeaderLatch with the participant id; prints "LEADER" and
//       "NOTLEADER" on changes, "PARTICIPANTS <id>:<isLeader>,..." on
//       "list", and closes the latch on "close" ("CLOSED").
//   select <connect> <path> <id>
//       joins a LeaderSelector with the participant id; prints "LEADING" when
//       takeLeadership starts and leads until "yield" ("YIELDED"); prints
//       "PARTICIPANTS <id>:<isLeader>,..." on "list"; "close" ends it.
//   rw <connect> <path> read|write
//       takes the read or write lock of an InterProcessReadWriteLock, prints
//       "HELD", and releases it on "release" ("RELEASED").
//   semaphore <connect> <path> <maxLeases>
//       takes a lease of an InterProcessSemaphoreV2, prints "LEASED", and
//       returns it on "release" ("RELEASED").
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.framework.recipes.leader.LeaderLatch;
import org.apache.curator.framework.recipes.leader.LeaderLatchListener;
import org.apache.curator.framework.recipes.leader.LeaderSelector;
import org.apache.curator.framework.recipes.leader.LeaderSelectorListenerAdapter;
import org.apache.curator.framework.recipes.leader.Participant;
import org.apache.curator.framework.recipes.locks.InterProcessLock;
import org.apache.curator.framework.recipes.locks.InterProcessMutex;
import org.apache.curator.framework.recipes.locks.InterProcessReadWriteLock;
import org.apache.curator.framework.recipes.locks.InterProcessSemaphoreV2;
import org.apache.curator.framework.recipes.locks.Lease;
import org.apache.curator.retry.RetryNTimes;
import org.apache.zookeeper.CreateMode;
import org.apache.zookeeper.KeeperException;

public class CuratorRecipes {
    static synchronized void say(String s) {
        System.out.println(s);
        System.out.flush();
    }

    static void awaitLine(BufferedReader in, String want) throws Exception {
        for (String line; (line = in.readLine()) != null; ) {
            if (line.equals(want)) {
                return;
            }
        }
    }

    public static void main(String[] args) throws Exception {
        CuratorFramework client = CuratorFrameworkFactory.newClient(args[1], 10000, 10000, new RetryNTimes(50, 200));
        client.start();
        client.blockUntilConnected();
        say("READY");
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        switch (args[0]) {
            case "count": {
                InterProcessMutex lock = new InterProcessMutex(client, args[2]);
                int n = Integer.parseInt(args[5]);
                for (int i = 0; i < n; i++) {
                    lock.acquire();
                    try {
                        try {
                            client.create().withMode(CreateMode.EPHEMERAL).forPath(args[4], "java".getBytes(StandardCharsets.UTF_8));
                        } catch (KeeperException.NodeExistsException e) {
                            say("VIOLATION " + new String(client.getData().forPath(args[4]), StandardCharsets.UTF_8));
                            System.exit(3);
                        }
                        long v = Long.parseLong(new String(client.getData().forPath(args[3]), StandardCharsets.UTF_8));
                        client.setData().forPath(args[3], Long.toString(v + 1).getBytes(StandardCharsets.UTF_8));
                        client.delete().forPath(args[4]);
                    } finally {
                        lock.release();
                    }
                }
                say("DONE");
                break;
            }
            case "hold": {
                InterProcessMutex lock = new InterProcessMutex(client, args[2]);
                lock.acquire();
                List<String> nodes = new ArrayList<>(lock.getParticipantNodes());
                say("HELD " + nodes.get(0));
                for (String line; (line = in.readLine()) != null; ) {
                    if (line.equals("list")) {
                        say("PARTICIPANTS " + String.join(",", lock.getParticipantNodes()));
                    } else if (line.equals("release")) {
                        lock.release();
                        say("RELEASED");
                        break;
                    }
                }
                break;
            }
            case "latch": {
                LeaderLatch latch = new LeaderLatch(client, args[2], args[3]);
                latch.addListener(new LeaderLatchListener() {
                    public void isLeader() { say("LEADER"); }
                    public void notLeader() { say("NOTLEADER"); }
                });
                latch.start();
                say("STARTED");
                for (String line; (line = in.readLine()) != null; ) {
                    if (line.equals("list")) {
                        List<String> ps = new ArrayList<>();
                        for (Participant p : latch.getParticipants()) {
                            ps.add(p.getId() + ":" + p.isLeader());
                        }
                        say("PARTICIPANTS " + String.join(",", ps));
                    } else if (line.equals("close")) {
                        latch.close();
                        say("CLOSED");
                        break;
                    }
                }
                break;
            }
            case "select": {
                final CountDownLatch yield = new CountDownLatch(1);
                LeaderSelector selector = new LeaderSelector(client, args[2], new LeaderSelectorListenerAdapter() {
                    public void takeLeadership(CuratorFramework c) throws Exception {
                        say("LEADING");
                        yield.await();
                        say("YIELDED");
                    }
                });
                selector.setId(args[3]);
                selector.start();
                say("STARTED");
                for (String line; (line = in.readLine()) != null; ) {
                    if (line.equals("list")) {
                        List<String> ps = new ArrayList<>();
                        for (Participant p : selector.getParticipants()) {
                            ps.add(p.getId() + ":" + p.isLeader());
                        }
                        say("PARTICIPANTS " + String.join(",", ps));
                    } else if (line.equals("yield")) {
                        yield.countDown();
                    } else if (line.equals("close")) {
                        selector.close();
                        say("CLOSED");
                        break;
                    }
                }
                break;
            }
            case "rw": {
                InterProcessReadWriteLock rw = new InterProcessReadWriteLock(client, args[2]);
                InterProcessLock lock = args[3].equals("write") ? rw.writeLock() : rw.readLock();
                lock.acquire();
                say("HELD");
                awaitLine(in, "release");
                lock.release();
                say("RELEASED");
                break;
            }
            case "semaphore": {
                InterProcessSemaphoreV2 sem = new InterProcessSemaphoreV2(client, args[2], Integer.parseInt(args[3]));
                Lease lease = sem.acquire();
                say("LEASED");
                awaitLine(in, "release");
                sem.returnLease(lease);
                say("RELEASED");
                break;
            }
            default:
                throw new IllegalArgumentException(args[0]);
        }
        client.close();
    }
}
