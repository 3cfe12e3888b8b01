package readmodel

import "context"

// LeadForTest applies events as if this projector held the lease, so tests
// can race projectors past the lease and see the fence hold.
func (p *Projector[V]) LeadForTest(ctx context.Context) { p.lead(ctx) }
