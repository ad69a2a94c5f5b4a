// The breaker is shared by the cluster (the Redis link) and the webhooks: it lives in the `resilience/` leaf.
export { CircuitBreaker, type BreakerOptions, type BreakerState } from '../resilience/circuit-breaker.js';
