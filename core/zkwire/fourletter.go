package zkwire

// TelnetClose is the name FourLetterWord gives to the bytes FF F4 FF FD that
// a telnet client sends when it closes (IAC IP IAC DO). ZooKeeper recognises
// them so it can close quietly instead of logging a bad frame length; a
// server should close the connection without output.
const TelnetClose = "telnet close"

// fourLetterWords is ZooKeeper 3.8's set of client-port commands
// (FourLetterCommands).
var fourLetterWords = map[string]bool{
	"conf": true, "cons": true, "crst": true, "dirs": true, "dump": true,
	"envi": true, "gtmk": true, "hash": true, "isro": true, "mntr": true,
	"ruok": true, "srst": true, "srvr": true, "stat": true, "stmk": true,
	"wchc": true, "wchp": true, "wchs": true,
}

// FourLetterWord reports whether the first 4 bytes of a fresh connection
// are a four-letter-word command, and which. The same 4 bytes are otherwise
// the length prefix of a ConnectRequest; like ZooKeeper, the decision is made
// by comparing them with the known words only (every word, read as a length,
// is far beyond any sane frame limit, so there is no ambiguity). The
// whitelist is the caller's business. "stmk" is followed by an 8-byte trace
// mask that the caller must read. The telnet close sequence is reported as
// TelnetClose.
func FourLetterWord(first4 [4]byte) (string, bool) {
	if first4 == [4]byte{0xff, 0xf4, 0xff, 0xfd} {
		return TelnetClose, true
	}
	w := string(first4[:])
	if fourLetterWords[w] {
		return w, true
	}
	return "", false
}
