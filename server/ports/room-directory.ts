/**
 * Which rooms exist, with their metadata and link generation. Embedded: a file per room
 * (embedded/file-room-directory.ts); scale-out: Redis, so every node knows every room at once
 * (scale/redis-room-directory.ts). Contract: test/contracts/room-directory.test.ts.
 */
export interface RoomMeta {
  id: string;
  title: string;
  createdAt: string;
  /** The room's link generation (tokens of another one are refused); absent means 1. */
  epoch?: number;
}

export interface RoomDirectory {
  create(meta: RoomMeta): Promise<void>;
  get(id: string): Promise<RoomMeta | null>;
  /** Moves the room to its next link generation; returns it (null when the room does not exist). */
  rotate(id: string): Promise<number | null>;
  /** Forgets the room (its other files are the document store's and the render service's). */
  delete(id: string): Promise<void>;
}
