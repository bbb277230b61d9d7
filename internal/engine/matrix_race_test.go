//go:build race

package engine_test

// raceDetector: the race detector slows the data path 5-10x (3DES,
// chacha20 and deflate are plain Go), so the matrix and the 1 GiB run
// without it, in their own step of scripts/test.sh.
const raceDetector = true
