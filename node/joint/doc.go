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
//     and sends each host the training members as host-blinded elements a·H(x). For mini-batch
//     training (TrainParams.BatchSize > 0) the guest partitions the training members at random
//     into n/BatchSize batches of at least BatchSize members and lists them batch after batch;
//     within a batch (the whole cohort in full-batch training) the elements are sorted by their
//     bytes, so the order carries nothing but the partition. That order is the common order of
//     every later per-member vector: the host maps each element to its row (only it knows a),
//     the guest to its member (it kept the pairing from step 1), and every host gets the same
//     batches. Neither side reveals an identifier. The request also carries the guest's
//     Paillier public key and the training parameters; a host refuses batches smaller than its
//     HostOptions.MinCohort.
//  3. Binning (BinRequest/BinResponse): the guest sends E(y_i) in cohort order. The host
//     quantile-bins each feature over the cohort, merges adjacent bins holding fewer than
//     HostOptions.MinBin members, and returns per bin its member count and the rerandomized
//     ciphertext Σ E(y_i). The guest decrypts the per-bin event counts and computes WoE and IV
//     (FATE's convention, 0.5 for empty cells). Bin edges stay with the host.
//  4. Logistic regression, per gradient step t (gradient descent on standardised features, each
//     party standardising its own, over step t's batch: batch t mod n/BatchSize, or the whole
//     training cohort in full-batch training; GuestOptions.Epochs counts passes over it):
//     PartialRequest → the host returns u_i = Σ_j w_j·x_ij for each member of the batch
//     (common order); the guest computes z_i = b + w_g·x_i + Σ_hosts u_i and the residual
//     d_i = σ(z_i) − y_i, steps its own weights in the clear, and sends E(d_i) (fixed point,
//     2^-32; encrypted with paillier.PrivateKey.Encrypt, the key holder's faster path, same
//     ciphertext distribution as the public key's);
//     GradientRequest → the host computes E(Σ_i d_i·x_ij) for each of its features j as one
//     multi-exponentiation over the batch's residuals (paillier.LinearCombination), with x at
//     2^-20 shifted by the feature's cohort minimum so that every exponent is short and
//     non-negative, and min_j·E(Σ_i d_i) added back; it adds 2^B + r_j with r_j fresh and
//     uniform on [0, 2^(B+81)), where B bounds |gradient| from the cohort size alone (a
//     standardised feature is at most √n in absolute value), packs several masked sums into
//     one ciphertext (slots whose width both sides derive from the key size and the cohort
//     size, see packing), rerandomizes each, and returns them;
//     UnmaskRequest → the guest decrypts, unpacks and returns each g_j + 2^B + r_j as an
//     integer; the host subtracts 2^B + r_j, refuses a result beyond the bound its own data
//     give, and steps its weights. Host weights never leave the host; the guest's Model holds
//     only its own part.
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
//	            |                                              | them); with mini-batches, the guest's
//	            |                                              | random partition of them into batches;
//	            |                                              | nothing about guest non-members
//	binning     | per bin of each host feature: member count   | ciphertexts only (semantically secure,
//	            | and event count (aggregates over ≥ MinBin    | rerandomized, no two equal): no label
//	            | members); not the bin edges                  |
//	regression  | per member of a step's batch, the host's     | ciphertexts of residuals; its own exact
//	            | partial predictor u_i (a 1-D projection of   | gradient Σ d_i·x_ij per feature and step
//	            | the member's host features under weights it  | (an aggregate over the step's batch, of
//	            | does not know); g_j + 2^B + r_j, statistical-| at least its MinCohort members, or over
//	            | ly hiding g (2^-80)                          | the cohort)
//	inference   | the applicant's partial score u              | that the applicant (by identifier, under its
//	            |                                              | authorisation) or a held-out member was scored
//
// Residual risks, not prevented here: a guest that deviates (e.g. sends residuals that are
// one-hot in a single member) can learn inner products of host feature vectors through the host's
// next partial predictors; a host can return wrong partials or bins and so spoil the model. The
// host bounds the number of gradient steps (HostOptions.MaxIterations) and checks that every vector
// has the length of the cohort or of the step's batch, every ciphertext parses under the
// guest's key, every element is one
// it produced for this job; the guest checks the hosts' vectors and that bin counts add up.
// Revealing the cohort to the host at step 2 is what FATE does by default; hiding it would mean
// computing over the host's whole population with encrypted zeros for non-members, costing
// |X| encryptions per iteration instead of |cohort|.
//
// # Keys and performance
//
// Production keys are 2048-bit (paillier.GenerateKey default); hosts refuse smaller keys unless
// HostOptions.KeyOptions.AllowInsecureSize is set, which only tests do. Per epoch the guest
// encrypts one residual per training member and decrypts one packed ciphertext per host, step
// and ten or so features; each host runs one multi-exponentiation per feature over each
// batch's residuals and rerandomizes one ciphertext per step. The guest's encryptions dominate:
// they use the key holder's paths of paillier.PrivateKey.Encrypt (fixed-base tables for keys
// from paillier.GenerateKey, about 9 times cheaper than public-key encryption, 3.5 times with
// the CRT alone for other keys), on every core. BenchmarkTrainLarge runs a whole job at a given
// size (CREDITNODE_BENCH_ROWS=30000 for 30,000 rows × 10+10 features) and reports each phase.
//
// The package never logs: messages, datasets and models hold personal data or derivatives of it.
package joint
