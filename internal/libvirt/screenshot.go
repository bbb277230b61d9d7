package libvirt

// A domain's screen without a display: `virsh screenshot` on the
// hypervisor, its file sent back over the exec channel, and qemu's PPM
// turned into a PNG here.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/png"
	"os"
	"strconv"
	"strings"
)

// Screenshot returns domain's screen as a PNG.
func (c *Client) Screenshot(ctx context.Context, domain string) ([]byte, error) {
	// virsh writes the screen to a file only; a temporary one on the
	// hypervisor is read back and removed.
	cmd := `f=$(mktemp) || exit 1; trap 'rm -f "$f"' EXIT; ` +
		c.virshLine("screenshot", "--domain", domain, "--file") + ` "$f" >/dev/null && cat "$f"`
	out, err := c.Run(ctx, cmd)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, c.domainError(ctx, domain, err)
	}
	if bytes.HasPrefix(out, []byte("\x89PNG")) {
		return out, nil
	}
	img, err := ParsePPM(out)
	if err != nil {
		return nil, fmt.Errorf("libvirt on %s: screenshot of %s: %w", c.Host, domain, err)
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// maxPixels bounds a screenshot (8K by 8K) so that a bad header cannot ask
// for gigabytes.
const maxPixels = 8192 * 8192

// ParsePPM decodes a binary PPM (P6, the format of qemu's screendump) with
// 8-bit samples.
func ParsePPM(b []byte) (*image.RGBA, error) {
	if !bytes.HasPrefix(b, []byte("P6")) {
		return nil, errors.New("ppm: not a binary PPM (P6)")
	}
	b = b[2:]
	var v [3]int // width, height, maxval
	for i := range v {
		// Whitespace and # comments separate the header's numbers.
		for len(b) > 0 && (b[0] == '#' || strings.IndexByte(" \t\r\n", b[0]) >= 0) {
			if b[0] == '#' {
				if j := bytes.IndexByte(b, '\n'); j >= 0 {
					b = b[j:]
				} else {
					b = nil
				}
				continue
			}
			b = b[1:]
		}
		n := 0
		for n < len(b) && n < 6 && b[n] >= '0' && b[n] <= '9' {
			n++
		}
		x, err := strconv.Atoi(string(b[:n]))
		if err != nil || x <= 0 {
			return nil, errors.New("ppm: bad header")
		}
		v[i], b = x, b[n:]
	}
	w, h, maxval := v[0], v[1], v[2]
	if maxval > 255 {
		return nil, errors.New("ppm: 16-bit samples not handled")
	}
	if len(b) == 0 || w*h > maxPixels {
		return nil, errors.New("ppm: bad header")
	}
	b = b[1:] // the single whitespace before the raster
	if len(b) < w*h*3 {
		return nil, errors.New("ppm: truncated")
	}
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := range w * h {
		p := img.Pix[i*4 : i*4+4]
		for k := range 3 {
			p[k] = uint8(int(b[i*3+k]) * 255 / maxval)
		}
		p[3] = 0xff
	}
	return img, nil
}

// screenshot writes the domain's screen to o.Screenshot ("-": Out).
func screenshot(ctx context.Context, lv *Client, o ConsoleOptions) error {
	b, err := lv.Screenshot(ctx, o.Domain)
	if err != nil {
		return &DisplayError{Err: err}
	}
	if o.Screenshot == "-" {
		_, err = o.Out.Write(b)
		return err
	}
	if err := os.WriteFile(o.Screenshot, b, 0o644); err != nil {
		return fmt.Errorf("console: %w", err)
	}
	fmt.Fprintf(o.Err, "jumpgate: screen of %s on %s written to %s\n", o.Domain, o.Host, o.Screenshot)
	return nil
}
