package lab

import "testing"

func TestGuestAddr(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"[    1.0] e1000 ok\njumpgate-guest: 2: eth0    inet 198.18.7.117/24 brd 198.18.7.255 scope global eth0\\       valid_lft forever\n": "198.18.7.117",
		"jumpgate-guest: \n":                    "",
		"booting\n":                             "",
		"jumpgate-guest: 2: eth0 inet bogus/24": "",
	} {
		if got := guestAddr([]byte(in)); got != want {
			t.Errorf("guestAddr(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzGuestAddr(f *testing.F) {
	f.Add([]byte("jumpgate-guest: 2: eth0    inet 198.18.7.117/24 brd"))
	f.Fuzz(func(t *testing.T, b []byte) {
		guestAddr(b)
	})
}
