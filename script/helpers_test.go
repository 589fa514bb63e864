package script

import "testing"

func mapIdx(t *testing.T, obj *Object, name string) int {
	for i, m := range obj.Maps {
		if m.Info != nil && m.Info.Name == name {
			return i
		}
	}
	t.Fatalf("no map @%s", name)
	return 0
}
