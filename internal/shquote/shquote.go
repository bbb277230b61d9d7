// Package shquote quotes words for a POSIX shell, as the command lines we
// send to a far host's sh(1) need.
package shquote

import "strings"

// safe are the bytes a word may hold and still be read by sh(1) as itself
// unquoted, in any position. '=' is left out: a bare "a=b" as the first
// word is an assignment, not a command.
const safe = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.:/+@%,"

// Quote returns s as one sh(1) word: bare when every byte is safe, else in
// single quotes, each ' inside written as a quote to close, an escaped
// quote and a quote to reopen.
func Quote(s string) string {
	if s != "" && strings.Trim(s, safe) == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// Join quotes each word and joins them with spaces: a command line for
// sh -c, or as a user would type it. After the first word an '=' is
// ordinary, so "-o" "ControlMaster=no" stays bare.
func Join(words []string) string {
	q := make([]string, len(words))
	for i, w := range words {
		if i > 0 && w != "" && strings.Trim(w, safe+"=") == "" {
			q[i] = w
		} else {
			q[i] = Quote(w)
		}
	}
	return strings.Join(q, " ")
}
