package ecdhpsi

import "slices"

// Request is the guest's first message: its blinded identifiers, shuffled.
type Request struct {
	Blinded []Element
}

// Response is the host's message: the Request elements blinded again, in
// Request order, and the host's own blinded identifiers, shuffled.
type Response struct {
	DoubleBlinded []Element
	HostBlinded   []Element
}

// Reply is the guest's last message: the host's elements blinded again by
// the guest, shuffled, from which the host counts the intersection.
type Reply struct {
	DoubleBlinded []Element
}

// Guest runs the guest side: it learns which of its identifiers are shared.
// A Guest is for one run of the protocol and is not safe for concurrent use.
type Guest struct {
	key  *Key
	opts Options
	ids  [][]byte
	perm []int // perm[j] = index into ids of Request element j
	req  int   // number of elements sent; -1 before Request
	done bool
}

// NewGuest prepares a run for the distinct identifiers ids with a fresh key.
func NewGuest(ids [][]byte, opts Options) (*Guest, error) {
	if len(ids) > MaxSetSize {
		return nil, ErrTooLarge
	}
	return &Guest{key: NewKey(), opts: opts, ids: ids, req: -1}, nil
}

// Request returns the first message.
func (gu *Guest) Request() (*Request, error) {
	if gu.req >= 0 {
		return nil, ErrOrder
	}
	blinded, err := gu.key.BlindIdentifiers(gu.ids, gu.opts)
	if err != nil {
		return nil, err
	}
	gu.perm = newShuffler().Perm(len(blinded))
	out := make([]Element, len(blinded))
	for j, i := range gu.perm {
		out[j] = blinded[i]
	}
	gu.req = len(out)
	return &Request{Blinded: out}, nil
}

// Finish processes the host's Response. It returns the indices (into the
// identifiers given to NewGuest, ascending) of the shared identifiers, and
// the Reply that lets the host count them. Not sending the Reply leaves the
// host with no output at all.
func (gu *Guest) Finish(resp *Response) ([]int, *Reply, error) {
	if gu.req < 0 || gu.done {
		return nil, nil, ErrOrder
	}
	if resp == nil || len(resp.DoubleBlinded) != gu.req {
		return nil, nil, ErrLength
	}
	if len(resp.HostBlinded) > MaxSetSize {
		return nil, nil, ErrTooLarge
	}
	// Validate the double-blinded guest elements (the host's answers).
	if err := checkDistinct(resp.DoubleBlinded); err != nil {
		return nil, nil, err
	}
	if err := parallel(len(resp.DoubleBlinded), gu.opts.workers(), func(i int) error {
		_, err := Decode(resp.DoubleBlinded[i])
		return err
	}); err != nil {
		return nil, nil, err
	}
	hostDouble, err := gu.key.Blind(resp.HostBlinded, gu.opts)
	if err != nil {
		return nil, nil, err
	}
	gu.done = true
	set := make(map[Element]struct{}, len(hostDouble))
	for _, e := range hostDouble {
		set[e] = struct{}{}
	}
	var members []int
	for j, e := range resp.DoubleBlinded {
		if _, ok := set[e]; ok {
			members = append(members, gu.perm[j])
		}
	}
	slices.Sort(members)
	newShuffler().Shuffle(len(hostDouble), func(i, j int) {
		hostDouble[i], hostDouble[j] = hostDouble[j], hostDouble[i]
	})
	return members, &Reply{DoubleBlinded: hostDouble}, nil
}

// Host runs the host side: it learns only the size of the intersection.
// A Host is for one run of the protocol and is not safe for concurrent use.
type Host struct {
	key         *Key
	opts        Options
	ids         [][]byte
	guestDouble map[Element]struct{} // a·b·H(y), set once Respond succeeds
	counted     bool
}

// NewHost prepares a run for the distinct identifiers ids with a fresh key.
func NewHost(ids [][]byte, opts Options) (*Host, error) {
	if len(ids) > MaxSetSize {
		return nil, ErrTooLarge
	}
	return &Host{key: NewKey(), opts: opts, ids: ids}, nil
}

// Respond answers the guest's Request.
func (h *Host) Respond(req *Request) (*Response, error) {
	if h.guestDouble != nil {
		return nil, ErrOrder
	}
	if req == nil {
		return nil, ErrLength
	}
	double, err := h.key.Blind(req.Blinded, h.opts)
	if err != nil {
		return nil, err
	}
	own, err := h.key.BlindIdentifiers(h.ids, h.opts)
	if err != nil {
		return nil, err
	}
	newShuffler().Shuffle(len(own), func(i, j int) { own[i], own[j] = own[j], own[i] })
	h.guestDouble = make(map[Element]struct{}, len(double))
	for _, e := range double {
		h.guestDouble[e] = struct{}{}
	}
	return &Response{DoubleBlinded: double, HostBlinded: own}, nil
}

// Count returns |X ∩ Y| from the guest's Reply, which must hold exactly one
// distinct valid element per host identifier.
func (h *Host) Count(reply *Reply) (int, error) {
	if h.guestDouble == nil || h.counted {
		return 0, ErrOrder
	}
	if reply == nil || len(reply.DoubleBlinded) != len(h.ids) {
		return 0, ErrLength
	}
	if err := checkDistinct(reply.DoubleBlinded); err != nil {
		return 0, err
	}
	if err := parallel(len(reply.DoubleBlinded), h.opts.workers(), func(i int) error {
		_, err := Decode(reply.DoubleBlinded[i])
		return err
	}); err != nil {
		return 0, err
	}
	h.counted = true
	n := 0
	for _, e := range reply.DoubleBlinded {
		if _, ok := h.guestDouble[e]; ok {
			n++
		}
	}
	return n, nil
}
