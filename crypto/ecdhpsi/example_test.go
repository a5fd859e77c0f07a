package ecdhpsi_test

import (
	"fmt"

	"github.com/creditexchange/node/crypto/ecdhpsi"
)

// A bank (guest) aligns its applicants with a tax department's (host)
// taxpayers: the bank learns which applicants the department knows, the
// department learns only how many.
func Example() {
	bank := [][]byte{[]byte("91110000100000016D"), []byte("91310000MA1FL0000X"), []byte("92440300MA5F000001")}
	dept := [][]byte{[]byte("91110000100000016D"), []byte("11110000000013127H"), []byte("92440300MA5F000001")}

	guest, _ := ecdhpsi.NewGuest(bank, ecdhpsi.Options{})
	host, _ := ecdhpsi.NewHost(dept, ecdhpsi.Options{})

	req, _ := guest.Request()              // bank → department
	resp, _ := host.Respond(req)           // department → bank
	shared, reply, _ := guest.Finish(resp) // bank → department
	n, _ := host.Count(reply)

	for _, i := range shared {
		fmt.Printf("bank learns: %s is shared\n", bank[i])
	}
	fmt.Println("department learns: intersection size", n)
	// Output:
	// bank learns: 91110000100000016D is shared
	// bank learns: 92440300MA5F000001 is shared
	// department learns: intersection size 2
}
