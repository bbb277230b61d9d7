package server

import (
	"bufio"
	"fmt"
	"os"
	"os/user"
	"strconv"
	"strings"
)

// User is the account a connection logs in as.
type User struct {
	Name  string
	UID   uint32
	GID   uint32
	Home  string
	Shell string
	// Groups are the supplementary group IDs.
	Groups []uint32
}

// LookupUser reads name's entry from /etc/passwd (for the login shell,
// which os/user does not give) and its groups from /etc/group.
func LookupUser(name string) (*User, error) {
	f, err := os.Open("/etc/passwd")
	if err != nil {
		return nil, fmt.Errorf("look up user %s: %w", name, err)
	}
	defer f.Close()
	u, err := findPasswd(f, name)
	if err != nil {
		return nil, err
	}
	if gu, err := user.LookupId(strconv.FormatUint(uint64(u.UID), 10)); err == nil {
		if ids, err := gu.GroupIds(); err == nil {
			for _, id := range ids {
				if n, err := strconv.ParseUint(id, 10, 32); err == nil {
					u.Groups = append(u.Groups, uint32(n))
				}
			}
		}
	}
	return u, nil
}

func findPasswd(f *os.File, name string) (*User, error) {
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Split(sc.Text(), ":")
		if len(fs) < 7 || fs[0] != name {
			continue
		}
		uid, err1 := strconv.ParseUint(fs[2], 10, 32)
		gid, err2 := strconv.ParseUint(fs[3], 10, 32)
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("look up user %s: bad passwd entry", name)
		}
		shell := fs[6]
		if shell == "" {
			shell = "/bin/sh"
		}
		return &User{Name: name, UID: uint32(uid), GID: uint32(gid), Home: fs[5], Shell: shell}, nil
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("look up user %s: %w", name, err)
	}
	return nil, fmt.Errorf("look up user %s: no such user", name)
}

// expandPath expands sshd's %h, %u and %% in an AuthorizedKeysFile
// pattern; relative results are taken from the home directory.
func expandPath(pattern string, u *User) (string, error) {
	var b strings.Builder
	for i := 0; i < len(pattern); i++ {
		c := pattern[i]
		if c != '%' {
			b.WriteByte(c)
			continue
		}
		i++
		if i == len(pattern) {
			return "", fmt.Errorf("authorized keys path %q: trailing %%", pattern)
		}
		switch pattern[i] {
		case 'h':
			b.WriteString(u.Home)
		case 'u':
			b.WriteString(u.Name)
		case '%':
			b.WriteByte('%')
		default:
			return "", fmt.Errorf("authorized keys path %q: unknown token %%%c", pattern, pattern[i])
		}
	}
	p := b.String()
	if !strings.HasPrefix(p, "/") {
		p = strings.TrimSuffix(u.Home, "/") + "/" + p
	}
	return p, nil
}
