// Command capture records the client-protocol frames exchanged between real
// ZooKeeper clients and a real ZooKeeper server, for zkwire's golden tests.
// It is a development tool, not part of the server.
//
// Proxy mode listens on -listen, forwards every connection to -target and
// appends each frame to -out as a line "c2s <hex>" or "s2c <hex>" (the hex
// includes the 4-byte length prefix), preceded by "# conn N". With -drop the
// first connection is cut after that duration, which makes clients reconnect
// and replay their auth and watches (xid -4 and -8).
//
// Client mode (-gozk) runs a fixed go-zookeeper session against -target.
package main

import (
	"bufio"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"sync"
	"time"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "proxy listen address")
	target := flag.String("target", "", "ZooKeeper address")
	out := flag.String("out", "", "capture file")
	drop := flag.Duration("drop", 0, "cut the first connection after this long (0 = never)")
	gozk := flag.Bool("gozk", false, "run the go-zookeeper scenario against -target instead of proxying")
	flag.Parse()
	if *gozk {
		if err := runGoZK(*target); err != nil {
			log.Fatal(err)
		}
		return
	}
	f, err := os.Create(*out)
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Fatal(err)
	}
	log.Printf("listening on %s", ln.Addr())
	p := &proxy{w: f, target: *target, drop: *drop}
	for {
		c, err := ln.Accept()
		if err != nil {
			log.Fatal(err)
		}
		go p.serve(c)
	}
}

type proxy struct {
	mu     sync.Mutex
	w      io.Writer
	target string
	drop   time.Duration
	conns  int
}

func (p *proxy) line(s string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintln(p.w, s)
}

func (p *proxy) serve(c net.Conn) {
	p.mu.Lock()
	p.conns++
	n := p.conns
	p.mu.Unlock()
	s, err := net.Dial("tcp", p.target)
	if err != nil {
		log.Print(err)
		c.Close()
		return
	}
	p.line(fmt.Sprintf("# conn %d", n))
	if n == 1 && p.drop > 0 {
		time.AfterFunc(p.drop, func() {
			p.line("# cut by proxy")
			c.Close()
			s.Close()
		})
	}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); p.pump("c2s", c, s) }()
	go func() { defer wg.Done(); p.pump("s2c", s, c) }()
	wg.Wait()
}

// pump copies frames from src to dst, logging each one.
func (p *proxy) pump(dir string, src, dst net.Conn) {
	defer src.Close()
	defer dst.Close()
	r := bufio.NewReader(src)
	for {
		var lb [4]byte
		if _, err := io.ReadFull(r, lb[:]); err != nil {
			return
		}
		n := binary.BigEndian.Uint32(lb[:])
		if n > 1<<24 {
			p.line(fmt.Sprintf("# %s non-frame bytes %x", dir, lb))
			_, _ = dst.Write(lb[:])
			_, _ = io.Copy(dst, r)
			return
		}
		frame := make([]byte, 4+int(n))
		copy(frame, lb[:])
		if _, err := io.ReadFull(r, frame[4:]); err != nil {
			if !errors.Is(err, io.EOF) {
				p.line(fmt.Sprintf("# %s truncated frame: %v", dir, err))
			}
			return
		}
		p.line(dir + " " + hex.EncodeToString(frame))
		if _, err := dst.Write(frame); err != nil {
			return
		}
	}
}
