package resp

import (
	"errors"
	"testing"
)

func TestRefusalRoundTrip(t *testing.T) {
	for _, want := range []error{NotMasterError{Partition: 7, Epoch: 1 << 40}, NoLeaseError{Partition: 0}} {
		got := ParseRefusal(AppendError(nil, want.Error()))
		if got != want {
			t.Errorf("ParseRefusal(%q) = %v, want %v", want.Error(), got, want)
		}
	}
	var nm NotMasterError
	if !errors.As(ParseRefusal([]byte("-NOTMASTER 3 9\r\n")), &nm) || nm.Partition != 3 || nm.Epoch != 9 {
		t.Errorf("NOTMASTER 3 9 parsed as %+v", nm)
	}
	for _, reply := range []string{"", "+OK\r\n", "-ERR NOTMASTER 1 2\r\n", "-NOTMASTER x 2\r\n", "-NOTMASTER 1\r\n", "-NOLEASE\r\n", "-NOREPLICAS Not enough good replicas to write.\r\n", "$9\r\nNOTMASTER\r\n"} {
		if err := ParseRefusal([]byte(reply)); err != nil {
			t.Errorf("ParseRefusal(%q) = %v, want nil", reply, err)
		}
	}
}
