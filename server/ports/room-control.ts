/**
 * Changes to a room that every node must act on at once: its links were rotated (connections of
 * older link generations close) or it was deleted (every connection closes, the room leaves
 * memory). Embedded: in this process. Scale-out: a Redis channel (redis-room-control.ts); pub/sub
 * can miss a message while a node is disconnected, so rooms/room-guard.ts also re-checks the
 * directory of its loaded rooms now and then. Contract: test/contracts/room-control.test.ts.
 */
export type RoomControlEvent = { type: 'revoked'; room: string; epoch: number } | { type: 'deleted'; room: string };

export interface RoomControl {
  publish(event: RoomControlEvent): void;
  /** Returns the unsubscribe. */
  subscribe(listener: (event: RoomControlEvent) => void): () => void;
}
