package engine

import (
	"context"

	"github.com/nats-io/nats.go/jetstream"
)

// Setup creates what one projection's read model needs before any projector
// or server runs: the meta bucket, the lease bucket, and the active
// generation (generation 1 the first time) with its pointer; it makes sure
// the generation's stream accepts atomic batches. It returns the active
// generation's bucket.
//
// Setup is idempotent. On a cluster it runs once under an identity that may
// create streams (`jevents setup`), so that projectors only write the
// buckets and servers only read them; on the embedded server every process
// runs it at start.
func Setup(ctx context.Context, js jetstream.JetStream, name string, cfg BucketConfig) (string, error) {
	meta, err := metaKV(ctx, js, cfg)
	if err != nil {
		return "", err
	}
	if _, err := leasesKV(ctx, js, cfg); err != nil {
		return "", err
	}
	bucket, _, err := activeBucket(ctx, js, meta, name, cfg, true)
	if err != nil {
		return "", err
	}
	if _, err := ensureBucket(ctx, js, bucket, cfg); err != nil {
		return "", err
	}
	return bucket, nil
}
