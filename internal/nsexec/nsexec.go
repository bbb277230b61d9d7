// Package nsexec runs code in another network namespace, and creates
// namespaces, from a locked OS thread that it puts back afterwards: a
// namespace belongs to a thread, and Go would otherwise run other
// goroutines on a thread left in the wrong one.
//
// Sockets opened by fn stay in the namespace they were opened in and may
// be used from any goroutine afterwards; a child process started by fn
// runs in it. Goroutines fn starts do not.
package nsexec
