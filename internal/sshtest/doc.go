// Package sshtest holds the test support shared by the packages' tests:
// a synchronised buffer, free loopback ports, the one check that OpenSSH
// is installed, Debian's sshd started for a test, compressible corpora
// ([Corpus]), and an in-memory implementation of the sshwire seam
// ([Pair]), so that forwarding, multiplexing, sessions and tunnels can be
// tested without root, sshd or a network.
package sshtest
