// Package sshtest holds the test support shared by the packages' tests:
// a synchronised buffer, free loopback ports, the one check that OpenSSH
// is installed, and Debian's sshd started for a test.
package sshtest
