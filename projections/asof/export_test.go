package asof

// HoldForTest takes n of the replayer's places (as n requests under way
// would) until the returned function gives them back.
func HoldForTest(r *Replayer, n int) func() {
	for range n {
		r.slots <- struct{}{}
	}
	return func() {
		for range n {
			<-r.slots
		}
	}
}
