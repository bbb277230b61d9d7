package client

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// dupTo makes newfd a copy of oldfd.
func dupTo(oldfd, newfd int) error { return unix.Dup3(oldfd, newfd, 0) }

// socketPair is a connected pair of Unix stream sockets, closed on exec.
func socketPair() ([2]int, error) {
	return syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
}
