package ratelimit

import (
	"testing"
	"time"
)

func TestKeyed(t *testing.T) {
	k := New[string](Limit{Burst: 3, Every: time.Minute}, 0)
	now := time.Now()
	for i := range 3 {
		if ok, _ := k.Take("a", 1, now); !ok {
			t.Fatalf("take %d of the burst refused", i)
		}
	}
	ok, wait := k.Take("a", 1, now)
	if ok || wait <= 0 || wait > time.Minute {
		t.Fatalf("past the burst: %v %v", ok, wait)
	}
	if ok, _ := k.Take("b", 1, now); !ok {
		t.Fatal("another key is limited")
	}
	if ok, _ := k.Take("a", 1, now.Add(61*time.Second)); !ok {
		t.Fatal("no token after the interval")
	}
	if ok, _ := k.Take("a", 1, now.Add(62*time.Second)); ok {
		t.Fatal("two tokens after one interval")
	}
	// All or none.
	if ok, wait := k.Take("c", 4, now); ok || wait != 3*time.Minute {
		t.Fatalf("more than the burst: %v %v", ok, wait)
	}
	if ok, _ := k.Take("c", 3, now); !ok {
		t.Fatal("a whole burst refused after a refused larger take")
	}
	k.Give("c", 2)
	if ok, _ := k.Take("c", 2, now); !ok {
		t.Fatal("given tokens are not there")
	}
	if empty, wait := k.Empty("c", now); !empty || wait != time.Minute {
		t.Fatalf("empty bucket: %v %v", empty, wait)
	}
	if empty, _ := k.Empty("never-seen", now); empty {
		t.Fatal("an unknown key is empty")
	}
}

// TestKeyedBound: past its bound the least recently used bucket gives way
// to the new key, and the ones in use stay.
func TestKeyedBound(t *testing.T) {
	k := New[int](Limit{Burst: 1, Every: time.Hour}, 3)
	now := time.Now()
	for i := range 3 {
		k.Take(i, 1, now)
	}
	k.Take(0, 1, now) // 0 is now the most recently used (and empty)
	k.Take(3, 1, now) // pushes out 1
	if k.Len() != 3 {
		t.Fatalf("%d buckets, want 3", k.Len())
	}
	if ok, _ := k.Take(0, 1, now); ok {
		t.Fatal("the recently used bucket was dropped")
	}
	if ok, _ := k.Take(1, 1, now); !ok {
		t.Fatal("the least recently used bucket was kept")
	}
}

func TestUnlimited(t *testing.T) {
	k := New[string](Limit{}, 0)
	for range 1000 {
		if ok, _ := k.Take("a", 10, time.Now()); !ok {
			t.Fatal("an unlimited bucket refused")
		}
	}
	if k.Len() != 0 {
		t.Fatal("an unlimited limiter keeps buckets")
	}
	if l := Per(60, time.Hour); l.Burst != 60 || l.Every != time.Minute {
		t.Fatalf("Per: %+v", l)
	}
}
