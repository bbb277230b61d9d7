package engine

import (
	"errors"
)

// Our own inflater (RFC 1950 and 1951): the standard library's keeps a
// block's output until the next block or a full window, and OpenSSH ends
// each packet with a partial flush (an empty fixed block that may be cut
// between packets), so a packet's data would come out only with the next.
// Here every byte comes out as it is decoded. It reads through src, which
// yields to the packet reader whenever the packet's bytes run out.

var errInflate = errors.New("ssh: corrupt compressed data")

const (
	inflateWindow = 32 * 1024
	maxCodeBits   = 15
)

// huffman is a canonical Huffman code: count[n] codes of length n, and
// the symbols ordered by code.
type huffman struct {
	count  [maxCodeBits + 1]uint16
	symbol []uint16
}

// build makes the code from symbol lengths; an over-subscribed set is
// corrupt, an incomplete one only fails if an unused code turns up.
func (h *huffman) build(lengths []uint8) error {
	h.count = [maxCodeBits + 1]uint16{}
	for _, l := range lengths {
		h.count[l]++
	}
	left := 1
	for n := 1; n <= maxCodeBits; n++ {
		left <<= 1
		left -= int(h.count[n])
		if left < 0 {
			return errInflate
		}
	}
	var offs [maxCodeBits + 2]uint16
	for n := 1; n <= maxCodeBits; n++ {
		offs[n+1] = offs[n] + h.count[n]
	}
	h.symbol = h.symbol[:0]
	h.symbol = append(h.symbol, make([]uint16, len(lengths))...)
	for s, l := range lengths {
		if l != 0 {
			h.symbol[offs[l]] = uint16(s)
			offs[l]++
		}
	}
	h.count[0] = 0
	return nil
}

// inflateState is the decoder inside the coroutine.
type inflateState struct {
	f       *inflater
	src     *inflateSource
	bitBuf  uint32
	bitCnt  uint
	window  [inflateWindow]byte
	wpos    int
	written int
	lit     huffman
	dist    huffman
	lens    [320]uint8
}

func (s *inflateState) bits(n uint) (uint32, error) {
	for s.bitCnt < n {
		c, err := s.src.ReadByte()
		if err != nil {
			return 0, err
		}
		s.bitBuf |= uint32(c) << s.bitCnt
		s.bitCnt += 8
	}
	v := s.bitBuf & (1<<n - 1)
	s.bitBuf >>= n
	s.bitCnt -= n
	return v, nil
}

// decode reads one symbol, a bit at a time in code order.
func (s *inflateState) decode(h *huffman) (int, error) {
	code, first, index := 0, 0, 0
	for n := 1; n <= maxCodeBits; n++ {
		b, err := s.bits(1)
		if err != nil {
			return 0, err
		}
		code |= int(b)
		count := int(h.count[n])
		if code-count < first {
			return int(h.symbol[index+code-first]), nil
		}
		index += count
		first += count
		first <<= 1
		code <<= 1
	}
	return 0, errInflate
}

func (s *inflateState) emit(c byte) error {
	f := s.f
	if len(f.out) >= maxInflated {
		return errInflatedTooLarge
	}
	f.out = append(f.out, c)
	s.window[s.wpos] = c
	s.wpos = (s.wpos + 1) & (inflateWindow - 1)
	s.written++
	return nil
}

// run decodes the zlib stream until it fails; SSH's never ends.
func (s *inflateState) run() error {
	cmf, err := s.bits(8)
	if err != nil {
		return err
	}
	flg, err := s.bits(8)
	if err != nil {
		return err
	}
	if cmf&0x0f != 8 || cmf>>4 > 7 || (cmf<<8|flg)%31 != 0 || flg&0x20 != 0 {
		return errInflate
	}
	for {
		final, err := s.bits(1)
		if err != nil {
			return err
		}
		typ, err := s.bits(2)
		if err != nil {
			return err
		}
		switch typ {
		case 0:
			err = s.stored()
		case 1:
			err = s.fixed()
		case 2:
			err = s.dynamic()
		default:
			err = errInflate
		}
		if err != nil {
			return err
		}
		if final == 1 {
			return errors.New("ssh: peer ended its compressed stream")
		}
	}
}

func (s *inflateState) stored() error {
	s.bitBuf, s.bitCnt = 0, 0 // to the byte boundary
	var hdr [4]byte
	for i := range hdr {
		c, err := s.src.ReadByte()
		if err != nil {
			return err
		}
		hdr[i] = c
	}
	n := int(hdr[0]) | int(hdr[1])<<8
	if uint16(n) != ^(uint16(hdr[2]) | uint16(hdr[3])<<8) {
		return errInflate
	}
	for range n {
		c, err := s.src.ReadByte()
		if err != nil {
			return err
		}
		if err := s.emit(c); err != nil {
			return err
		}
	}
	return nil
}

func (s *inflateState) fixed() error {
	l := s.lens[:288+30]
	for i := range 288 {
		switch {
		case i < 144:
			l[i] = 8
		case i < 256:
			l[i] = 9
		case i < 280:
			l[i] = 7
		default:
			l[i] = 8
		}
	}
	for i := range 30 {
		l[288+i] = 5
	}
	if err := s.lit.build(l[:288]); err != nil {
		return err
	}
	if err := s.dist.build(l[288:]); err != nil {
		return err
	}
	return s.codes()
}

func (s *inflateState) dynamic() error {
	hlit, err := s.bits(5)
	if err != nil {
		return err
	}
	hdist, err := s.bits(5)
	if err != nil {
		return err
	}
	hclen, err := s.bits(4)
	if err != nil {
		return err
	}
	nlit, ndist := int(hlit)+257, int(hdist)+1
	if nlit > 286 || ndist > 30 {
		return errInflate
	}
	order := [19]uint8{16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15}
	var cl [19]uint8
	for i := range int(hclen) + 4 {
		v, err := s.bits(3)
		if err != nil {
			return err
		}
		cl[order[i]] = uint8(v)
	}
	var clh huffman
	if err := clh.build(cl[:]); err != nil {
		return err
	}
	l := s.lens[:nlit+ndist]
	for i := 0; i < len(l); {
		sym, err := s.decode(&clh)
		if err != nil {
			return err
		}
		if sym < 16 {
			l[i] = uint8(sym)
			i++
			continue
		}
		var rep uint32
		var val uint8
		switch sym {
		case 16:
			if i == 0 {
				return errInflate
			}
			val = l[i-1]
			rep, err = s.bits(2)
			rep += 3
		case 17:
			rep, err = s.bits(3)
			rep += 3
		default:
			rep, err = s.bits(7)
			rep += 11
		}
		if err != nil {
			return err
		}
		if i+int(rep) > len(l) {
			return errInflate
		}
		for range rep {
			l[i] = val
			i++
		}
	}
	if l[256] == 0 {
		return errInflate // no end-of-block code
	}
	if err := s.lit.build(l[:nlit]); err != nil {
		return err
	}
	if err := s.dist.build(l[nlit:]); err != nil {
		return err
	}
	return s.codes()
}

// The length and distance bases and extra bits of RFC 1951 3.2.5.
func lengthBase(i int) (base int, extra uint) {
	switch {
	case i < 8:
		return 3 + i, 0
	case i == 28:
		return 258, 0
	}
	extra = uint(i/4 - 1)
	return 3 + (4+i%4)<<extra, extra
}

func distBase(i int) (base int, extra uint) {
	if i < 4 {
		return 1 + i, 0
	}
	extra = uint(i/2 - 1)
	return 1 + (2+i%2)<<extra, extra
}

func (s *inflateState) codes() error {
	for {
		sym, err := s.decode(&s.lit)
		if err != nil {
			return err
		}
		switch {
		case sym < 256:
			if err := s.emit(byte(sym)); err != nil {
				return err
			}
			continue
		case sym == 256:
			return nil
		case sym > 285:
			return errInflate
		}
		base, extra := lengthBase(sym - 257)
		e, err := s.bits(extra)
		if err != nil {
			return err
		}
		length := base + int(e)
		dsym, err := s.decode(&s.dist)
		if err != nil {
			return err
		}
		if dsym > 29 {
			return errInflate
		}
		dbase, dextra := distBase(dsym)
		de, err := s.bits(dextra)
		if err != nil {
			return err
		}
		d := dbase + int(de)
		if d > s.written || d > inflateWindow {
			return errInflate
		}
		for range length {
			if err := s.emit(s.window[(s.wpos-d)&(inflateWindow-1)]); err != nil {
				return err
			}
		}
	}
}
