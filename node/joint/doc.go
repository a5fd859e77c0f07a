// Package joint is vertical joint modelling between a label holder (the guest, a bank) and
// feature holders (hosts, departments), in the style of FATE's hetero-LR: the parties exchange
// blinded identifiers, Paillier ciphertexts under the guest's key, and aggregates, never
// records.
//
// # Protocol
//
// The guest drives a job; each step is one request to a host and one response (Message, Conn).
//
//  1. Alignment (AlignRequest/AlignResponse): ECDH-PSI over ristretto255 (crypto/ecdhpsi).
//     The guest sends b·H(y) for its members, shuffled; the host returns a·b·H(y) in request
//     order and its own a·H(x), shuffled, remembering which row each a·H(x) stands for. The guest
//     computes b·a·H(x) and so learns which of its members the host holds, and for each such
//     member the host-blinded element a·H(x). The cohort is the members every host holds;
//     below GuestOptions.MinCohort the guest aborts before sending anything else, and a host
//     refuses alignments and cohorts below its own HostOptions.MinCohort.
//  2. Cohort (CohortRequest): the guest splits the cohort into training and held-out members
//     and sends each host the training members as host-blinded elements a·H(x), sorted by their
//     bytes. That sorted order is the common order of every later per-member vector: the host
//     maps each element to its row (only it knows a), the guest to its member (it kept the
//     pairing from step 1). Neither side reveals an identifier. The request also carries the
//     guest's Paillier public key and the training parameters.
//  3. Binning (BinRequest/BinResponse): the guest sends E(y_i) in cohort order. The host
//     quantile-bins each feature over the cohort, merges adjacent bins holding fewer than
//     HostOptions.MinBin members, and returns per bin its member count and the rerandomized
//     ciphertext Σ E(y_i). The guest decrypts the per-bin event counts and computes WoE and IV
//     (FATE's convention, 0.5 for empty cells). Bin edges stay with the host.
//  4. Logistic regression, per iteration t (full-batch gradient descent on standardised
//     features; each party standardises its own):
//     PartialRequest → the host returns u_i = Σ_j w_j·x_ij for each member (cohort order);
//     the guest computes z_i = b + w_g·x_i + Σ_hosts u_i and the residual d_i = σ(z_i) − y_i,
//     steps its own weights in the clear, and sends E(d_i) (fixed point, 2^-32);
//     GradientRequest → the host computes E(Σ_i d_i·x_ij) for each of its features j (x at
//     2^-20, exponents split by sign so they stay short), adds a fresh mask r_j uniform on
//     [0, 2^(B+80)) where B bounds the gradient, rerandomizes, and returns the masked sums;
//     UnmaskRequest → the guest decrypts and returns g_j + r_j as integers; the host subtracts
//     r_j, refuses a result beyond the bound, and steps its weights. Host weights never leave
//     the host; the guest's Model holds only its own part.
//  5. Inference (ScoreRequest/ScoreResponse): "the model goes to the data": for an applicant
//     each host returns only its partial score u; the guest adds its part. For held-out
//     evaluation the guest names members by host-blinded elements instead of identifiers.
//
// # What each party learns (semi-honest parties)
//
//	step        | guest (label holder, key holder)             | host (feature holder)
//	------------+----------------------------------------------+----------------------------------------------
//	alignment   | |X|; which of its members the host holds;    | |Y|; nothing about which element is whose
//	            | a·H(x) of those (pseudorandom to it)         | (every element it sees is blinded by b)
//	cohort      | —                                            | the size of the training cohort and WHICH of
//	            |                                              | its own rows are in it (it must compute on
//	            |                                              | them); nothing about guest non-members
//	binning     | per bin of each host feature: member count   | ciphertexts only (semantically secure,
//	            | and event count (aggregates over ≥ MinBin    | rerandomized, no two equal): no label
//	            | members); not the bin edges                  |
//	regression  | per member and iteration the host's partial  | ciphertexts of residuals; its own exact
//	            | predictor u_i (a 1-D projection of the       | gradient Σ d_i·x_ij per feature and
//	            | member's host features under weights it does | iteration (an aggregate over the cohort)
//	            | not know); g_j + r_j, statistically hiding g |
//	            | (2^-80)                                      |
//	inference   | the applicant's partial score u              | that the applicant (by identifier, under its
//	            |                                              | authorisation) or a held-out member was scored
//
// Residual risks, not prevented here: a guest that deviates (e.g. sends residuals that are
// one-hot in a single member) can learn inner products of host feature vectors through the host's
// next partial predictors; a host can return wrong partials or bins and so spoil the model. The
// host bounds the number of iterations (HostOptions.MaxIterations) and checks that every vector
// has the cohort's length, every ciphertext parses under the guest's key, every element is one
// it produced for this job; the guest checks the hosts' vectors and that bin counts add up.
// Revealing the cohort to the host at step 2 is what FATE does by default; hiding it would mean
// computing over the host's whole population with encrypted zeros for non-members, costing
// |X| encryptions per iteration instead of |cohort|.
//
// # Keys and performance
//
// Production keys are 2048-bit (paillier.GenerateKey default); hosts refuse smaller keys unless
// HostOptions.KeyOptions.AllowInsecureSize is set, which only tests do. The dominant costs per
// iteration are the guest's |cohort| encryptions and the host's |cohort|·features short
// exponentiations; see the benchmarks in this package.
//
// The package never logs: messages, datasets and models hold personal data or derivatives of it.
package joint
