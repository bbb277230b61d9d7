package cli

// remote-viewer under Xvfb, and its screen as a PNG kept for people to
// look at ($JUMPGATE_ARTIFACTS/<test>/console.png when set).

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/png"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// remoteViewerShot starts Xvfb, runs the command start builds with
// DISPLAY set, waits for the viewer to draw, saves the screen and ends
// both. It returns the screen, or nil after failing t.
func remoteViewerShot(t *testing.T, ctx context.Context, xvfb string, start func(context.Context, string) *exec.Cmd) *image.RGBA {
	t.Helper()
	fb := t.TempDir()
	n, _ := rand.Int(rand.Reader, big.NewInt(800))
	display := fmt.Sprintf(":%d", 100+n.Int64())
	x := exec.Command(xvfb, display, "-screen", "0", "1024x768x24", "-fbdir", fb, "-nolisten", "tcp")
	var xerr bytes.Buffer
	x.Stderr = &xerr
	if err := x.Start(); err != nil {
		t.Fatalf("Xvfb: %v", err)
	}
	t.Cleanup(func() {
		x.Process.Kill()
		x.Wait()
	})
	sock := "/tmp/.X11-unix/X" + strings.TrimPrefix(display, ":")
	for i := 0; ; i++ {
		if _, err := os.Stat(sock); err == nil {
			break
		}
		if i > 100 {
			t.Fatalf("Xvfb did not start: %s", xerr.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	cmd := start(ctx, display)
	var errb bytes.Buffer
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	// The viewer connects and draws; give it time on a slow machine,
	// and watch for it dying early.
	select {
	case err := <-done:
		t.Fatalf("console ended before the screenshot: %v\n%s", err, errb.String())
	case <-time.After(15 * time.Second):
	}
	img, err := readXWD(filepath.Join(fb, "Xvfb_screen0"))
	if err != nil {
		t.Errorf("screen: %v", err)
	} else {
		dir := os.Getenv("JUMPGATE_ARTIFACTS")
		if dir == "" {
			dir = t.TempDir()
		} else {
			dir = filepath.Join(dir, strings.ReplaceAll(t.Name(), "/", "_"))
		}
		os.MkdirAll(dir, 0o755)
		p := filepath.Join(dir, "console.png")
		var buf bytes.Buffer
		png.Encode(&buf, img)
		if err := os.WriteFile(p, buf.Bytes(), 0o644); err == nil {
			t.Logf("screenshot: %s", p)
		}
	}
	// Interrupting the console ends the viewer and the forward.
	cmd.Process.Signal(os.Interrupt)
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("console after interrupt: %v\n%s", err, errb.String())
		}
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		<-done
		t.Errorf("console did not end after interrupt\n%s", errb.String())
	}
	return img
}

// readXWD reads Xvfb's -fbdir screen: an XWD dump, ZPixmap, 32 bits per
// pixel, in the byte order its header names.
func readXWD(path string) (*image.RGBA, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if len(b) < 100 {
		return nil, errors.New("xwd: short header")
	}
	h := make([]uint32, 25)
	for i := range h {
		h[i] = binary.BigEndian.Uint32(b[i*4:])
	}
	headerSize, format, width, height, byteOrder, bpp, bpl, ncolors := h[0], h[2], h[4], h[5], h[7], h[11], h[12], h[19]
	if format != 2 || bpp != 32 || width == 0 || height == 0 || width > 8192 || height > 8192 {
		return nil, fmt.Errorf("xwd: format %d, %d bpp, %dx%d not handled", format, bpp, width, height)
	}
	off := int(headerSize) + int(ncolors)*12
	if off < 0 || off+int(bpl)*int(height) > len(b) {
		return nil, errors.New("xwd: truncated")
	}
	img := image.NewRGBA(image.Rect(0, 0, int(width), int(height)))
	for y := 0; y < int(height); y++ {
		row := b[off+y*int(bpl):]
		for x := 0; x < int(width); x++ {
			px := row[x*4 : x*4+4]
			var v uint32
			if byteOrder == 0 {
				v = binary.LittleEndian.Uint32(px)
			} else {
				v = binary.BigEndian.Uint32(px)
			}
			i := img.PixOffset(x, y)
			img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = uint8(v>>16), uint8(v>>8), uint8(v), 0xff
		}
	}
	return img, nil
}
