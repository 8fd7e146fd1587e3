// Package sdk is Warren's Go client for the ZooKeeper protocol. It talks to
// Warren and to Apache ZooKeeper alike, and shares its wire codec
// (core/proto, core/zkwire) with the server.
//
// # Sessions and connections
//
// Connect parses a connect string ("host:port,host:port/chroot"), opens a
// session on one of the hosts and returns a *Conn. The Conn keeps the
// session alive across connection losses: it reconnects to the next host
// (hostnames are resolved again on every attempt), resumes the session with
// its id, password and the highest zxid seen (so it never reads older state
// than it already saw), re-sends the credentials given to AddAuth, and
// re-registers every watch with setWatches2. Connection state changes are
// delivered in order on the channels returned by States. An expired session
// is reported (StateExpired) and the Conn becomes unusable: it is never
// replaced by a new session silently.
//
// # Concurrency model
//
// A Conn is safe for concurrent use. Each connection has exactly one
// writer goroutine and one reader goroutine, and one manager goroutine per
// Conn dials and re-dials. Calls are pipelined: a call enqueues its request
// and waits; the writer assigns the xid, appends the call to the pending
// queue and writes the frame; the reader matches each reply to the head of
// the pending queue (ZooKeeper answers a session's requests in order).
// A mutex guards the session state, the pending queue and the watch tables;
// it is never held across network I/O. The only nested lock is an event
// or state queue's own mutex, taken while the Conn's mutex is held (never the
// other way round). Persistent-watch events and state changes go through
// unbounded queues, so a slow consumer never stalls the reader; read them
// or Close the Watcher. Each stream has a goroutine that ends when the
// stream's last value has been read (or the Watcher is closed): after the
// Conn is finished, read a States subscription to its end.
//
// Bad input from a server (a malformed or oversized frame, a reply with an
// unexpected xid, an undecodable body) drops the connection: every pending
// call fails with ErrConnectionLoss and the Conn reconnects. A call that
// fails with ErrConnectionLoss may or may not have been executed by the
// server.
//
// # Watches
//
// GetW, ExistsW and ChildrenW set one-shot watches and return a channel
// that receives exactly one Event. AddWatch sets a persistent or
// persistent-recursive watch whose events arrive, in order and without
// loss, on the Watcher's channel until the Watcher is closed. Event paths
// are relative to the chroot. Events are delivered before the replies that
// follow them on the wire are returned to their callers.
//
// The server holds one registration per (session, path, kind) whatever
// the number of local watches, and sends each event once; the Conn hands
// it to every local watch that wants it, as the Java client does: a
// persistent watch on a path also receives the events of that path that
// a recursive watch on it (or an ancestor) causes the server to send.
//
// RemoveWatches removes all of the client's watches of a WatcherType on a
// path (ZooKeeper's removeAllWatches): each removed one-shot watch receives
// EventDataWatchRemoved or EventChildWatchRemoved, each removed Watcher
// EventPersistentWatchRemoved, and the channel or stream closes. A path
// without such a watch fails with ErrNoWatcher before anything is sent;
// with local, the watches are removed even when the server cannot be
// reached. CheckWatches asks the server whether a watch of that type is
// registered. ZooKeeper 3.8 servers know the types Children, Data and Any
// only: the persistent types are sent as Any, and only when the client
// keeps no other watch on the path (otherwise the server's registration
// stays and the client drops the events no watch wants). Watcher.Close
// works the same way for one Watcher.
//
// GetConfigW watches /zookeeper/config (the chroot never applies to it).
// On a 3.8 server a later AddWatch of the other mode on the same path
// replaces the server's registration (ZOOKEEPER-4466, fixed in 3.9;
// Warren keeps both); the Conn keeps both Watchers, as the Java client
// does, so the earlier one receives only what the server still sends.
package sdk
