import { getHeapStatistics } from 'node:v8';

/** V8 heap figures (the heap gauges). */
export function heapStats(): { used: number; limit: number } {
  const heap = getHeapStatistics();
  return { used: heap.used_heap_size, limit: heap.heap_size_limit };
}
