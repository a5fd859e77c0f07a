package ecdhpsi

import "encoding/binary"

// Wire forms. Every message is its element count(s) as big-endian uint32,
// then the elements, 32 bytes each, and nothing else:
//
//	Request:  count ‖ elements
//	Response: count₁ ‖ count₂ ‖ count₁ double-blinded ‖ count₂ host elements
//	Reply:    count ‖ elements
//
// The parsers check the exact length, MaxSetSize, that every element is a
// canonical non-identity encoding, and that no element repeats within a
// vector. Whether a count is the one the protocol expects is checked by
// Guest.Finish and Host.Count.

func appendVector(b []byte, v []Element) []byte {
	for _, e := range v {
		b = append(b, e[:]...)
	}
	return b
}

// MarshalBinary encodes the Request.
func (m *Request) MarshalBinary() ([]byte, error) {
	b := binary.BigEndian.AppendUint32(make([]byte, 0, 4+ElementSize*len(m.Blinded)), uint32(len(m.Blinded)))
	return appendVector(b, m.Blinded), nil
}

// MarshalBinary encodes the Response.
func (m *Response) MarshalBinary() ([]byte, error) {
	b := make([]byte, 0, 8+ElementSize*(len(m.DoubleBlinded)+len(m.HostBlinded)))
	b = binary.BigEndian.AppendUint32(b, uint32(len(m.DoubleBlinded)))
	b = binary.BigEndian.AppendUint32(b, uint32(len(m.HostBlinded)))
	b = appendVector(b, m.DoubleBlinded)
	return appendVector(b, m.HostBlinded), nil
}

// MarshalBinary encodes the Reply.
func (m *Reply) MarshalBinary() ([]byte, error) {
	b := binary.BigEndian.AppendUint32(make([]byte, 0, 4+ElementSize*len(m.DoubleBlinded)), uint32(len(m.DoubleBlinded)))
	return appendVector(b, m.DoubleBlinded), nil
}

// counts reads k uint32 counts and checks the total length.
func counts(b []byte, k int) ([]int, []byte, error) {
	if len(b) < 4*k {
		return nil, nil, ErrMalformed
	}
	out := make([]int, k)
	total := 0
	for i := range k {
		c := binary.BigEndian.Uint32(b[4*i:])
		if c > MaxSetSize {
			return nil, nil, ErrTooLarge
		}
		out[i] = int(c)
		total += int(c)
	}
	rest := b[4*k:]
	if len(rest) != total*ElementSize {
		return nil, nil, ErrMalformed
	}
	return out, rest, nil
}

func parseVector(b []byte, n int) ([]Element, error) {
	v := make([]Element, n)
	for i := range v {
		copy(v[i][:], b[i*ElementSize:])
		if _, err := Decode(v[i]); err != nil {
			return nil, err
		}
	}
	if err := checkDistinct(v); err != nil {
		return nil, err
	}
	return v, nil
}

// ParseRequest decodes and checks a Request.
func ParseRequest(b []byte) (*Request, error) {
	c, rest, err := counts(b, 1)
	if err != nil {
		return nil, err
	}
	v, err := parseVector(rest, c[0])
	if err != nil {
		return nil, err
	}
	return &Request{Blinded: v}, nil
}

// ParseResponse decodes and checks a Response.
func ParseResponse(b []byte) (*Response, error) {
	c, rest, err := counts(b, 2)
	if err != nil {
		return nil, err
	}
	d, err := parseVector(rest[:c[0]*ElementSize], c[0])
	if err != nil {
		return nil, err
	}
	h, err := parseVector(rest[c[0]*ElementSize:], c[1])
	if err != nil {
		return nil, err
	}
	return &Response{DoubleBlinded: d, HostBlinded: h}, nil
}

// ParseReply decodes and checks a Reply.
func ParseReply(b []byte) (*Reply, error) {
	c, rest, err := counts(b, 1)
	if err != nil {
		return nil, err
	}
	v, err := parseVector(rest, c[0])
	if err != nil {
		return nil, err
	}
	return &Reply{DoubleBlinded: v}, nil
}
