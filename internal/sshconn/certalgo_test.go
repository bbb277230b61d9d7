package sshconn

import (
	"crypto/rand"
	"slices"
	"testing"

	"golang.org/x/crypto/ssh"
)

// TestCertificateSignerAlgorithms: with PubkeyAcceptedAlgorithms set, a
// certificate's signer is restricted to the signature algorithms of its
// key; x/crypto refuses the certificate's own algorithm names there.
func TestCertificateSignerAlgorithms(t *testing.T) {
	t.Parallel()
	user := testSigner(t, "user")
	ca := testSigner(t, "ca")
	cert := &ssh.Certificate{Key: user.PublicKey(), CertType: ssh.UserCert, ValidPrincipals: []string{"root"}, ValidBefore: ssh.CertTimeInfinity}
	if err := cert.SignCert(rand.Reader, ca); err != nil {
		t.Fatal(err)
	}
	cs, err := ssh.NewCertSigner(cert, user)
	if err != nil {
		t.Fatal(err)
	}
	algos := signatureAlgorithms(algorithmsForKey(cert))
	if !slices.Equal(algos, []string{ssh.KeyAlgoED25519}) {
		t.Fatalf("signatureAlgorithms = %q", algos)
	}
	if _, err := ssh.NewSignerWithAlgorithms(cs.(ssh.AlgorithmSigner), algos); err != nil {
		t.Fatalf("NewSignerWithAlgorithms: %v", err)
	}
	for in, want := range map[string]string{
		ssh.CertAlgoRSASHA512v01: ssh.KeyAlgoRSASHA512,
		ssh.CertAlgoRSAv01:       ssh.KeyAlgoRSA,
		ssh.CertAlgoECDSA256v01:  ssh.KeyAlgoECDSA256,
		ssh.CertAlgoSKED25519v01: ssh.KeyAlgoSKED25519,
		ssh.KeyAlgoRSASHA256:     ssh.KeyAlgoRSASHA256,
	} {
		if got := signatureAlgorithms([]string{in})[0]; got != want {
			t.Errorf("signatureAlgorithms(%s) = %s, want %s", in, got, want)
		}
	}
}
