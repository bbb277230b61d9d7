package sshconf

// state is the option set being built while files are read: OpenSSH's
// Options struct. Absent map entries and negative numbers mean "unset",
// so the first obtained value wins.

type forward struct {
	listenHost    string
	hasListenHost bool
	listenPort    int // portStreamLocal for a path
	listenPath    string
	connectHost   string
	connectPort   int
	connectPath   string
}

const portStreamLocal = -2

type fileEntry struct {
	path string
	user bool // from a user config file or the command line
}

type cname struct{ source, target string }

type state struct {
	ints   map[string]int      // flags, multi-state words, integers, times
	strs   map[string]string   // strings, commands, algorithm lists
	arrays map[string][]string // one-line lists where the first line wins

	identityFiles []fileEntry
	certFiles     []fileEntry
	localFwds     []forward
	remoteFwds    []forward
	sendEnv       []string
	setEnv        []string
	cnames        []cname
	cnamesSet     bool

	controlPersistTimeout int
	tunLocal, tunRemote   int
	ipqosInteractive      int
	ipqosBulk             int
	rekeyLimit            int64
	streamLocalBindMask   int
	addKeysLifespan       int
	forwardAgentPath      string
	jumpHost, jumpUser    string
	jumpExtra             string
	jumpPort              int
	jumpSet               bool
	logFacility           string
	logLevel              string

	warnings []string
}

func newState() *state {
	return &state{
		ints:                map[string]int{},
		strs:                map[string]string{},
		arrays:              map[string][]string{},
		tunLocal:            -1,
		tunRemote:           -1,
		ipqosInteractive:    -1,
		ipqosBulk:           -1,
		rekeyLimit:          -1,
		streamLocalBindMask: -1,
		addKeysLifespan:     -1,
		jumpPort:            -1,
	}
}

func (s *state) setInt(key string, v int) {
	if _, ok := s.ints[key]; !ok {
		s.ints[key] = v
	}
}

func (s *state) setStr(key, v string) {
	if _, ok := s.strs[key]; !ok {
		s.strs[key] = v
	}
}

func (s *state) int(key string, def int) int {
	if v, ok := s.ints[key]; ok {
		return v
	}
	return def
}

func (s *state) str(key string) (string, bool) {
	v, ok := s.strs[key]
	return v, ok
}

func addFile(list []fileEntry, path string, user bool) []fileEntry {
	for _, f := range list {
		if f.user == user && f.path == path {
			return list
		}
	}
	return append(list, fileEntry{path, user})
}

func addForward(list []forward, f forward) []forward {
	for _, g := range list {
		if g == f {
			return list
		}
	}
	return append(list, f)
}
