package cli

import (
	"reflect"

	"github.com/warrenhq/warren/sdk"
)

// pendingWatch is a one-shot watch the shell set and has not seen fire.
type pendingWatch struct {
	path string
	ch   <-chan sdk.Event
	conn *sdk.Conn
}

// watchOnce hands a one-shot watch's channel to the dispatcher, which
// prints its event when it fires (or is removed).
func (s *Shell) watchOnce(path string, ch <-chan sdk.Event) {
	if ch == nil {
		return
	}
	s.regs <- pendingWatch{path: path, ch: ch, conn: s.conn}
}

// dispatch prints the events of the shell's one-shot watches. zkCli sets
// them all with one watcher object, so when one notification fires several
// of them (get -w and stat -w, or get -w and ls -w and then a delete) it
// prints the event once. The sdk delivers a notification to every one-shot
// channel it fires in one critical section of the Conn's mutex (before it
// handles the next frame), so once one of them yields an event and a call
// that takes that mutex (State) returned, the others of that notification
// hold theirs: the dispatcher takes them and prints the event once. It
// runs until stop, then prints what is already delivered.
func (s *Shell) dispatch() {
	defer close(s.dispatched)
	var pending []pendingWatch
	for {
		cases := make([]reflect.SelectCase, 0, len(pending)+2)
		cases = append(cases,
			reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(s.regs)},
			reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(s.stop)})
		for _, w := range pending {
			cases = append(cases, reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(w.ch)})
		}
		i, v, ok := reflect.Select(cases)
		switch i {
		case 0:
			pending = append(pending, v.Interface().(pendingWatch))
			continue
		case 1:
			for _, w := range pending {
				if v, ok := reflect.ValueOf(w.ch).TryRecv(); ok {
					s.printOnce(v.Interface().(sdk.Event))
				}
			}
			return
		}
		w := pending[i-2]
		pending = append(pending[:i-2:i-2], pending[i-1:]...)
		if !ok {
			continue
		}
		ev := v.Interface().(sdk.Event)
		_ = w.conn.State() // waits for the notification's delivery to end
		var others []sdk.Event
		for j := 0; j < len(pending); {
			if pending[j].path != w.path {
				j++
				continue
			}
			v, ok := reflect.ValueOf(pending[j].ch).TryRecv()
			if !v.IsValid() {
				j++ // not fired
				continue
			}
			pending = append(pending[:j:j], pending[j+1:]...)
			if ok && v.Interface().(sdk.Event) != ev {
				others = append(others, v.Interface().(sdk.Event))
			}
		}
		s.printOnce(ev)
		for _, o := range others {
			s.printOnce(o)
		}
	}
}

// printOnce prints a one-shot watch's event (not the session's end, which
// the connection states report).
func (s *Shell) printOnce(ev sdk.Event) {
	if ev.Type != sdk.EventSession {
		s.printEvent("SyncConnected", ev.Type, ev.Path)
	}
}
