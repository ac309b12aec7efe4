/**
 * DELETE /api/rooms/:room, in order:
 *   1 directory   the entry goes first: from here on nothing loads the room and no token of it works
 *   2 control     every node closes the room's connections, forgets its previews and drops it
 *                 from memory, unwritten (this node waits for its own part)
 *   3 renders     cancelled and removed with their files; shots no other room holds leave the cache
 *   4 document    logs, snapshots, streams
 * Every step after the first runs even when one before it failed (the room is unusable from step
 * 1 on either way); the first failure is then thrown, and what it could not remove stays behind.
 */
import type { DocumentStore } from '../ports/document-store.js';
import type { RenderJobs } from '../render/render-jobs.js';
import type { RoomDirectory } from '../ports/room-directory.js';
import type { RoomControl } from '../ports/room-control.js';
import type { RoomGuard } from './room-guard.js';

export interface DeleteRoomDeps {
  directory: RoomDirectory;
  control: RoomControl;
  guard: RoomGuard;
  store: DocumentStore;
  renders: RenderJobs | null;
  /** The room's uploaded audio. */
  assets?: { deleteRoom(room: string): Promise<void> };
}

export async function deleteRoom(room: string, deps: DeleteRoomDeps): Promise<void> {
  await deps.directory.delete(room);
  deps.control.publish({ type: 'deleted', room });
  const steps = [
    () => deps.guard.apply({ type: 'deleted', room }),
    async () => deps.renders?.forgetRoom(room),
    async () => deps.assets?.deleteRoom(room),
    () => deps.store.destroy(room),
  ];
  let failure: unknown = null;
  for (const step of steps) {
    try {
      await step();
    } catch (error) {
      failure ??= error;
    }
  }
  if (failure) throw failure;
}
