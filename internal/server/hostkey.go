package server

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"strings"
	"sync"

	"golang.org/x/crypto/ssh"
)

// ServeAll serves cfg on every listener until ctx ends or one fails; the
// first failure ends the others and is returned.
func ServeAll(ctx context.Context, lns []net.Listener, cfg Config) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg    sync.WaitGroup
		once  sync.Once
		first error
	)
	for _, ln := range lns {
		wg.Go(func() {
			if err := Serve(ctx, ln, cfg); err != nil {
				once.Do(func() { first = err })
				cancel()
			}
		})
	}
	wg.Wait()
	return first
}

// LoadHostKey reads an OpenSSH private key, generating an ed25519 one
// (mode 0600, with FILE.pub beside it) when create is set and it is missing.
func LoadHostKey(path string, create bool) (ssh.Signer, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) && create {
		if err := generateHostKey(path); err != nil {
			return nil, err
		}
		data, err = os.ReadFile(path)
	}
	if err != nil {
		return nil, fmt.Errorf("read host key: %w", err)
	}
	signer, err := ssh.ParsePrivateKey(data)
	if err != nil {
		return nil, fmt.Errorf("parse host key %s: %w", path, err)
	}
	return signer, nil
}

func generateHostKey(path string) error {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return fmt.Errorf("generate host key: %w", err)
	}
	host, _ := os.Hostname()
	block, err := ssh.MarshalPrivateKey(priv, "root@"+host)
	if err != nil {
		return fmt.Errorf("encode host key: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("create host key: %w", err)
	}
	if _, err := f.Write(pem.EncodeToMemory(block)); err != nil {
		f.Close()
		os.Remove(path)
		return fmt.Errorf("write host key: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write host key: %w", err)
	}
	spub, err := ssh.NewPublicKey(pub)
	if err != nil {
		return fmt.Errorf("encode host key: %w", err)
	}
	line := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(spub))) + " root@" + host + "\n"
	if err := os.WriteFile(path+".pub", []byte(line), 0o644); err != nil {
		return fmt.Errorf("write host public key: %w", err)
	}
	return nil
}
