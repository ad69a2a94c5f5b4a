/** Byte counters of one connection (plain numbers: a counter never needs more than 2^53). */
export class ConnectionMeter {
  bytesIn = 0;
  bytesOut = 0;
  constructor(readonly openedAt: number, readonly ip: string) {}
}
