package joint

import "errors"

// Errors returned by this package. They never contain features, labels or identifiers.
var (
	// ErrCohortTooSmall: the intersection (or a requested cohort) has fewer members than the
	// minimum cohort size; the job aborts.
	ErrCohortTooSmall = errors.New("joint: cohort below the minimum size")
	// ErrMalformed: a message is not well formed: wrong vector length, a ciphertext that does not
	// parse under the expected key, an element that is not a group element, a duplicate, a
	// non-finite number.
	ErrMalformed = errors.New("joint: malformed message")
	// ErrUnknownMember: a message names a blinded element the host did not produce in this job.
	ErrUnknownMember = errors.New("joint: unknown member")
	// ErrOrder: a protocol step arrived out of order (e.g. labels before the cohort).
	ErrOrder = errors.New("joint: protocol step out of order")
	// ErrUnknownJob: no session with this job id.
	ErrUnknownJob = errors.New("joint: unknown job")
	// ErrData: a data set is inconsistent (ragged rows, labels not 0/1, duplicate ids).
	ErrData = errors.New("joint: invalid data set")
	// ErrKey: the Paillier key offered by the guest is refused (too small, malformed).
	ErrKey = errors.New("joint: key refused")
)
