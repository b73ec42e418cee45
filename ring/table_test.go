package ring

import (
	"reflect"
	"strings"
	"testing"
)

func sampleTable() Table {
	return Table{Epoch: 7, RF: 3, Partitions: []Assignment{
		{Master: "a", Followers: []string{"b", "c"}},
		{Master: "b", Followers: []string{"c", "a"}},
		{Master: "c", Followers: []string{"a"}},
		{},
	}}
}

func TestTableAccessors(t *testing.T) {
	tab := sampleTable()
	if tab.Len() != 4 {
		t.Fatalf("Len = %d", tab.Len())
	}
	for _, c := range []struct {
		p      int
		master string
		owners []string
	}{
		{0, "a", []string{"a", "b", "c"}},
		{1, "b", []string{"b", "c", "a"}},
		{2, "c", []string{"c", "a"}},
		{3, "", []string{}},
		{-1, "", nil},
		{4, "", nil},
	} {
		if got := tab.Master(c.p); got != c.master {
			t.Errorf("Master(%d) = %q, want %q", c.p, got, c.master)
		}
		if got := tab.Owners(c.p); !reflect.DeepEqual(got, c.owners) {
			t.Errorf("Owners(%d) = %#v, want %#v", c.p, got, c.owners)
		}
	}
	// Owners returns a copy.
	tab.Owners(0)[1] = "x"
	if tab.Partitions[0].Followers[0] != "b" {
		t.Fatal("Owners aliases the table")
	}
	want := map[string]NodeCounts{"a": {1, 3}, "b": {1, 2}, "c": {1, 3}}
	if got := tab.Counts(); !reflect.DeepEqual(got, want) {
		t.Fatalf("Counts = %v, want %v", got, want)
	}
}

func TestTableClone(t *testing.T) {
	tab := sampleTable()
	c := tab.Clone()
	if !reflect.DeepEqual(c, tab) {
		t.Fatalf("Clone = %+v, want %+v", c, tab)
	}
	c.Partitions[0].Followers[0] = "z"
	c.Partitions[1].Master = "z"
	if !reflect.DeepEqual(tab, sampleTable()) {
		t.Fatal("editing a clone changed the original")
	}
	if z := (Table{}).Clone(); z.Partitions != nil {
		t.Fatal("clone of the zero Table is not zero")
	}
}

func TestTableEqual(t *testing.T) {
	a := sampleTable()
	b := sampleTable()
	b.Epoch = 99
	b.Partitions[3].Followers = []string{} // empty equals nil
	if !a.Equal(b) {
		t.Fatal("tables differing only in epoch and nil/empty followers are not Equal")
	}
	for name, edit := range map[string]func(*Table){
		"rf":             func(t *Table) { t.RF = 2 },
		"length":         func(t *Table) { t.Partitions = t.Partitions[:3] },
		"master":         func(t *Table) { t.Partitions[0].Master = "z" },
		"follower":       func(t *Table) { t.Partitions[0].Followers[1] = "z" },
		"follower order": func(t *Table) { f := t.Partitions[1].Followers; f[0], f[1] = f[1], f[0] },
		"follower count": func(t *Table) { t.Partitions[2].Followers = nil },
	} {
		c := sampleTable()
		edit(&c)
		if a.Equal(c) || c.Equal(a) {
			t.Errorf("%s: tables Equal after a change", name)
		}
	}
}

func TestTableValidate(t *testing.T) {
	if err := sampleTable().Validate(); err != nil {
		t.Fatalf("valid table: %v", err)
	}
	if err := (Table{}).Validate(); err != nil {
		t.Fatalf("zero table: %v", err)
	}
	for _, c := range []struct {
		a    Assignment
		want string
	}{
		{Assignment{Followers: []string{"a"}}, "no master"},
		{Assignment{Master: "a", Followers: []string{""}}, "empty follower"},
		{Assignment{Master: "a", Followers: []string{"b", "a"}}, "master and follower"},
		{Assignment{Master: "a", Followers: []string{"b", "b"}}, "twice"},
	} {
		tab := Table{RF: 3, Partitions: []Assignment{{Master: "x"}, c.a}}
		err := tab.Validate()
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "partition 1") {
			t.Errorf("Validate(%+v) = %v, want an error about %q", c.a, err, c.want)
		}
	}
	if err := (Table{RF: -1}).Validate(); err == nil {
		t.Error("negative RF accepted")
	}
}
