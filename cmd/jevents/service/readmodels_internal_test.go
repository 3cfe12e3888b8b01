package service

import (
	"slices"
	"testing"
)

// TestReadModelsList: the one list of read models names each model once,
// and each is held by some role (a model no process holds would be
// projected for nobody), which a role of AllRoles plays.
func TestReadModelsList(t *testing.T) {
	if err := readModels.models().Check(); err != nil {
		t.Fatal(err)
	}
	for _, rm := range readModels {
		if slices.Contains(streamRead, rm.Name()) {
			if len(rm.heldBy) != 0 {
				t.Errorf("%s: read from its stream, yet held as a replica by %v", rm.Name(), rm.heldBy)
			}
			continue
		}
		if len(rm.heldBy) == 0 {
			t.Errorf("%s: no role holds it (or list it in streamRead)", rm.Name())
		}
		for _, r := range rm.heldBy {
			if !slices.Contains(AllRoles, r) {
				t.Errorf("%s: held by unknown role %q", rm.Name(), r)
			}
		}
		if !rm.heldIn(Config{Roles: AllRoles}) || rm.heldIn(Config{Roles: []Role{RoleProjector}}) {
			t.Errorf("%s: the all-in-one process must hold it, a projector-only one never", rm.Name())
		}
	}
}
