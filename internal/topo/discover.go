package topo

// Options tune local discovery.
type Options struct {
	// NetnsDir is where named namespaces live; "" is /run/netns.
	NetnsDir string
	// ProcDir is procfs; "" is /proc.
	ProcDir string
	// Filter, when set, limits discovery to the namespaces it accepts
	// (by name, "" for unnamed ones); the root is always kept.
	Filter func(name string) bool
	// Hostname names the host; "" is os.Hostname.
	Hostname string
	// Parallel is how many namespaces are read at once; 0 is 4×GOMAXPROCS.
	Parallel int
	// Run runs an external command for the optional OVS and libvirt
	// discovery; nil runs nothing.
	Run Runner
}
